// Backend "cuda": the CUDA kernels (quantize-append, fused split-K decode attention) checked on
// the GPU; available only where a usable GPU is present.
#include "golden/backend.hpp"
#include "kernels/cuda/nqkv_cuda.hpp"

namespace {

class CudaBackend final : public nqkv::backend::Backend {
 public:
  std::string name() const override { return "cuda"; }
  std::string description() const override { return "CUDA kernels (kernels/cuda, sm_90)"; }
  bool available(std::string* why) const override {
    std::string w;
    if (nqkv::cuda::device_available(&w)) return true;
    if (why) *why = "no usable GPU (" + w + ")";
    return false;
  }
  nqkv::backend::Result check_case(const nqkv::io::SafeTensors& c, const nqkv::backend::Options&) const override {
    return nqkv::cuda::cuda_check_case(c);
  }
};

}  // namespace

NQKV_REGISTER_BACKEND("cuda", CudaBackend);
