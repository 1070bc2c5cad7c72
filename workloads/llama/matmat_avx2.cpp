// The batched forward pass's matrix products compiled for AVX2 + FMA (about twice the SSE2
// build's speed), chosen at run time by model.cpp when the CPU has both. Eigen is renamed in this
// translation unit (-DEigen=nqkv_eigen_avx2, see CMakeLists.txt) so that its AVX2 template
// instantiations never merge with the baseline ones of other files at link time.
#include <Eigen/Core>

namespace nqkv::llama::detail {

void matmat_avx2(float* Y, const float* W, const float* X, int T, int rows, int cols) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMat> Wm(W, rows, cols);
  Eigen::Map<const RowMat> Xm(X, T, cols);
  Eigen::Map<RowMat> Ym(Y, T, rows);
  Ym.noalias() = Xm * Wm.transpose();
}

}  // namespace nqkv::llama::detail
