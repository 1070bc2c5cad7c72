// The bad-input suite (issue 21): a table of hostile command lines for every nqkv subcommand:
// missing, truncated, corrupt, wrong-dtype, NaN and huge-shape files, directories, FIFOs and
// devices given as files, unwritable outputs and outputs that are inputs, out-of-range, negative,
// 1e400 and wrongly typed numbers in flags and JSON files, unknown names, sizes that would need
// tens of GiB. Every case must end with
//   - exit status exactly 2 (not 1, not a signal, not 0),
//   - exactly one stderr line, starting with "nqkv: error:" and holding the expected words,
//   - no new, changed or removed file under the fixture and output directories (names, sizes
//     and modification times compared before and after: outputs must not exist),
//   - within a memory ceiling (2 GiB of address space, RLIMIT_AS: the check must come before
//     the allocation) and a time limit (the check must come before the work).
// Add cases for every new command or flag (SystemC, DSE, GGUF...). The suite prints the number of
// cases per subcommand.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "golden/float_formats.hpp"
#include "io/safetensors.hpp"
#include "io/sanitizers.hpp"
#include "tests/llama/gguf_fixtures.hpp"

namespace fs = std::filesystem;
using nqkv::io::DType;
using nqkv::io::SafeTensors;
using nqkv::io::Tensor;

namespace {

constexpr bool kSanitized = nqkv::io::kAddressSanitizer;  // ASan reserves terabytes of address space: no RLIMIT_AS

constexpr rlim_t kMemoryCeiling = rlim_t{2} << 30;
constexpr int kTimeLimitSeconds = 20;

struct Case {
  std::string cmd;     // the subcommand counted ("golden" for golden gen/check, "nqkv" for none)
  std::string args;    // {F}: fixture directory, {O}: the case's own empty output directory (also
                       // the working directory), {RO}: a directory that accepts no new file
  std::string expect;  // a substring of the one stderr line
  bool needs_ceiling = false;  // fails only because of the memory ceiling (skipped under ASan)
  // Non-empty: a known failure whose fix belongs to other work (who and why). It is run and its
  // state printed, but does not fail the suite; once it passes, the output says to drop the mark.
  std::string pending;
  bool full_stdout = false;  // stdout is /dev/full (a full disk) instead of /dev/null

  Case(std::string cmd_, std::string args_, std::string expect_, bool needs_ceiling_ = false, std::string pending_ = "",
       bool full_stdout_ = false)
      : cmd(std::move(cmd_)),
        args(std::move(args_)),
        expect(std::move(expect_)),
        needs_ceiling(needs_ceiling_),
        pending(std::move(pending_)),
        full_stdout(full_stdout_) {}
};

struct Outcome {
  int status = -1, signal = 0;
  bool timed_out = false;
  std::string err;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

// Splits on spaces; '' is an empty argument (paths here hold no spaces).
std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string w; in >> w;) v.push_back(w == "''" ? std::string() : w);
  return v;
}

// Runs nqkv in `cwd` with stdout discarded, stderr to `err_file`, under the memory ceiling.
Outcome run_nqkv(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& err_file,
                 const char* out_file = "/dev/null") {
  std::vector<std::string> argv_s{NQKV_EXE_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(120);
    const int out = ::open(out_file, O_WRONLY);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(121);
    ::dup2(out, 1);
    ::dup2(err, 2);
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    if (!kSanitized) {
      const rlimit lim{kMemoryCeiling, kMemoryCeiling};
      ::setrlimit(RLIMIT_AS, &lim);
    }
    ::execv(argv[0], argv.data());
    ::_exit(122);
  }
  Outcome o;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeLimitSeconds);
  int st = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      o.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFEXITED(st)) o.status = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) o.signal = WTERMSIG(st);
  std::ifstream e(err_file);
  o.err.assign(std::istreambuf_iterator<char>(e), {});
  return o;
}

// Every entry under `root`: relative name -> "type size mtime(ns)".
using Snapshot = std::map<std::string, std::string>;
void snapshot_into(const fs::path& root, Snapshot& snap) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    const long long ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    const char type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISFIFO(st.st_mode) ? 'p' : 'o';
    // A directory's own mtime is not compared: it changes when a file is created and removed
    // again (the commands' writability probe, an atomic write's temporary file); what is left
    // behind shows up by name.
    snap[it->path().string()] = S_ISDIR(st.st_mode) ? std::string("d")
                                                    : std::string(1, type) + " " + std::to_string(st.st_size) + " " +
                                                          std::to_string(ns);
  }
}

std::string snapshot_diff(const Snapshot& before, const Snapshot& after) {
  std::string d;
  for (const auto& [k, v] : before) {
    auto it = after.find(k);
    if (it == after.end()) d += "  removed: " + k + "\n";
    else if (it->second != v) d += "  changed: " + k + " (" + v + " -> " + it->second + ")\n";
  }
  for (const auto& [k, v] : after)
    if (!before.count(k)) d += "  new: " + k + "\n";
  return d;
}

// ---- fixtures -----------------------------------------------------------------------------------

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file with a hand-written header and `data` bytes.
std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
  std::string h = header;
  while (h.size() % 8) h.push_back(' ');
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + h + data;
}

Tensor f16_tensor(std::vector<int64_t> shape, const std::vector<float>& v) {
  std::vector<uint16_t> b;
  for (float x : v) b.push_back(nqkv::golden::f32_to_f16(x));
  return Tensor::from(DType::F16, std::move(shape), b);
}

std::vector<float> normal_values(size_t n) {
  std::mt19937 gen(7);
  std::normal_distribution<float> nd;
  std::vector<float> v(n);
  for (auto& x : v) x = nd(gen);
  return v;
}

void save_tensor(const fs::path& p, const std::string& name, const Tensor& t,
                 const std::map<std::string, std::string>& meta = {}) {
  SafeTensors st;
  st.tensors[name] = t;
  for (const auto& [k, v] : meta) st.metadata[k] = v;
  st.save(p.string());
}

void put_i32(std::string& s, int32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put_f32(std::string& s, float v) { s.append(reinterpret_cast<const char*>(&v), 4); }

std::string checkpoint_header(int32_t dim, int32_t hidden, int32_t layers, int32_t heads, int32_t kv_heads,
                              int32_t vocab, int32_t seq_len) {
  std::string s;
  for (int32_t h : {dim, hidden, layers, heads, kv_heads, vocab, seq_len}) put_i32(s, h);
  return s;
}

// A tiny llama2.c model (legacy v0): dim 32, 4 heads, 4 kv heads (kv_dim 32), 1 layer, vocab 300,
// seq_len 32, with its tokenizer tok300.bin beside it.
constexpr int kVocab = 300;
std::string checkpoint_bytes(int32_t dim = 32, int32_t hidden = 64, int32_t layers = 1, int32_t heads = 4,
                             int32_t kv_heads = 4, int32_t vocab = kVocab, int32_t seq_len = 32) {
  std::string s = checkpoint_header(dim, hidden, layers, heads, kv_heads, vocab, seq_len);
  const int64_t D = dim, H = hidden, L = layers, KV = dim / heads * kv_heads, V = vocab, HS = dim / heads;
  const int64_t floats = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * H * D + D +
                         seq_len * HS;
  std::mt19937 gen(3);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  for (int64_t i = 0; i < floats; ++i) put_f32(s, nd(gen));
  return s;
}

std::string tokenizer_bytes(int vocab = kVocab) {
  std::string s;
  put_i32(s, 16);
  for (int i = 0; i < vocab; ++i) {
    std::string tok;
    if (i == 0) tok = "<unk>";
    else if (i == 1) tok = "\n<s>\n";
    else if (i == 2) tok = "\n</s>\n";
    else if (i < 259) {
      char b[8];
      std::snprintf(b, sizeof b, "<0x%02X>", i - 3);
      tok = b;
    } else if (i == 259) {
      tok = " ";
    } else {
      tok = std::string(1, static_cast<char>('a' + (i - 260) % 26));
      if (i - 260 >= 26) tok = " " + tok;
    }
    put_f32(s, -static_cast<float>(i));
    put_i32(s, static_cast<int32_t>(tok.size()));
    s += tok;
  }
  return s;
}

const char* kConfigOk = R"({"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "hidden_size": 256, "intermediate_size": 512, "vocab_size": 1000,
  "max_position_embeddings": 4096, "torch_dtype": "float16"})";

std::string config_with(const std::string& field, const std::string& value) {
  nlohmann::json j = nlohmann::json::parse(kConfigOk);
  j.erase(field);
  std::string s = j.dump();
  s.pop_back();
  return s + ", \"" + field + "\": " + value + "}";
}

std::string hw_with(const std::string& fields) {
  return R"({"hardware": [{"name": "mygpu", )" + fields + "}]}";
}
const char* kHwFields = R"("memory_gib": 24, "bandwidth_gb_s": 1000, "fp16_tflops": 100)";

// Runs nqkv for fixture generation (status 0 required).
void nqkv_ok(const std::string& args, const fs::path& cwd) {
  const Outcome o = run_nqkv(split_args(args), cwd, cwd / ".setup_err");
  fs::remove(cwd / ".setup_err");
  ASSERT_EQ(o.status, 0) << "fixture: nqkv " << args << "\n" << o.err;
}

class BadInputEnv {
 public:
  fs::path base, F, RO;

  void make() {
    base = fs::temp_directory_path() / ("nqkv_bad_input_" + std::to_string(::getpid()));
    fs::remove_all(base);
    F = base / "F";
    fs::create_directories(F);
    fs::create_directories(base / "err");
    // Safetensors inputs.
    save_tensor(F / "in.safetensors", "x", f16_tensor({4, 128}, normal_values(512)));
    save_tensor(F / "cols96.safetensors", "x", f16_tensor({4, 96}, normal_values(384)));
    save_tensor(F / "scalar.safetensors", "x", f16_tensor({}, {1.0f}));
    save_tensor(F / "empty_tensor.safetensors", "x", f16_tensor({0, 128}, {}));
    {
      std::vector<int32_t> v(512, 7);
      save_tensor(F / "i32.safetensors", "x", Tensor::from(DType::I32, {4, 128}, v));
    }
    {
      auto v = normal_values(128);
      v[70] = std::nanf("");
      save_tensor(F / "nan.safetensors", "x", f16_tensor({1, 128}, v));
      v[70] = INFINITY;
      save_tensor(F / "inf.safetensors", "x", f16_tensor({1, 128}, v));
    }
    {
      const std::string good = [&] {
        std::ifstream in(F / "in.safetensors", std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
      }();
      write_bytes(F / "trunc.safetensors", good.substr(0, good.size() - 100));
      write_bytes(F / "trunc_header.safetensors", good.substr(0, 20));
    }
    write_bytes(F / "short.safetensors", std::string("\x10\0\0", 3));
    write_bytes(F / "notjson.safetensors", safetensors_bytes("{not json!!!!!!}"));
    write_bytes(F / "hugeheader.safetensors", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
    write_bytes(F / "array_header.safetensors", safetensors_bytes("[1,2,3]"));
    write_bytes(F / "hugeshape.safetensors",
                safetensors_bytes(R"({"x":{"dtype":"F16","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"));
    write_bytes(F / "overflowshape.safetensors",
                safetensors_bytes(R"({"x":{"dtype":"F16","shape":[4611686018427387904,4],"data_offsets":[0,0]}})"));
    write_bytes(F / "negshape.safetensors",
                safetensors_bytes(R"({"x":{"dtype":"F16","shape":[-1,128],"data_offsets":[0,256]}})", std::string(256, '\0')));
    write_bytes(F / "floatshape.safetensors",
                safetensors_bytes(R"({"x":{"dtype":"F16","shape":[1.5,128],"data_offsets":[0,256]}})", std::string(256, '\0')));
    write_bytes(F / "bigoffsets.safetensors",
                safetensors_bytes(R"({"x":{"dtype":"F16","shape":[1,128],"data_offsets":[0,999999]}})", std::string(256, '\0')));
    write_bytes(F / "1e400.safetensors",
                safetensors_bytes(R"({"x":{"dtype":"F16","shape":[1e400,128],"data_offsets":[0,256]}})", std::string(256, '\0')));
    write_bytes(F / "baddtype.safetensors",
                safetensors_bytes(R"({"x":{"dtype":"Q99","shape":[1,128],"data_offsets":[0,256]}})", std::string(256, '\0')));
    write_bytes(F / "empty.bin", "");
    write_bytes(F / "text.txt", "Once upon a time there was a tiny model.\n");
    fs::create_symlink(F / "in.safetensors", F / "link.safetensors");
    fs::create_hard_link(F / "in.safetensors", F / "hardlink.safetensors");
    fs::create_symlink(F / "nowhere.safetensors", F / "dangling.safetensors");
    fs::create_directories(F / "adir");
    ::mkfifo((F / "fifo").c_str(), 0644);
    // Larger than every size cap without using the disk (sparse): 9 GiB.
    { std::ofstream(F / "sparse.bin").close(); fs::resize_file(F / "sparse.bin", uintmax_t{9} << 30); }
    // A valid 2 GiB tensor (sparse zeros) within the size cap: more than the memory ceiling.
    {
      const std::string head =
          safetensors_bytes(R"({"x":{"dtype":"F16","shape":[1,1073741824],"data_offsets":[0,2147483648]}})");
      write_bytes(F / "big.safetensors", head);
      fs::resize_file(F / "big.safetensors", head.size() + (uintmax_t{1} << 31));
    }
    // Quantized files: a good one from nqkv itself, and corrupted copies.
    nqkv_ok("quantize --input " + (F / "in.safetensors").string() + " --output " + (F / "q.safetensors").string(), F);
    const SafeTensors q = SafeTensors::load((F / "q.safetensors").string());
    auto variant = [&](const std::string& name, auto&& edit) {
      SafeTensors v = q;
      edit(v);
      v.save((F / name).string());
    };
    variant("q_nometa.safetensors", [](SafeTensors& v) { v.metadata.clear(); });
    variant("q_format.safetensors", [](SafeTensors& v) { v.metadata["nqkv.format"] = "quantized-v9"; });
    variant("q_codebook.safetensors", [](SafeTensors& v) { v.metadata["codebook"] = "nf9"; });
    variant("q_dtype.safetensors", [](SafeTensors& v) { v.metadata["dtype"] = "f64"; });
    variant("q_block0.safetensors", [](SafeTensors& v) { v.metadata["block"] = "0"; });
    variant("q_blockneg.safetensors", [](SafeTensors& v) { v.metadata["block"] = "-64"; });
    variant("q_blockhuge.safetensors", [](SafeTensors& v) { v.metadata["block"] = "99999999999999999999"; });
    variant("q_blocktext.safetensors", [](SafeTensors& v) { v.metadata["block"] = "sixty-four"; });
    variant("q_block3.safetensors", [](SafeTensors& v) { v.metadata["block"] = "3"; });
    variant("q_shapejunk.safetensors", [](SafeTensors& v) { v.metadata["shape"] = "[4,"; });
    variant("q_shapetype.safetensors", [](SafeTensors& v) { v.metadata["shape"] = R"(["4","128"])"; });
    variant("q_shape1e400.safetensors", [](SafeTensors& v) { v.metadata["shape"] = "[1e400,128]"; });
    variant("q_shapehuge.safetensors", [](SafeTensors& v) { v.metadata["shape"] = "[4294967296,4294967296,128]"; });
    variant("q_shapeempty.safetensors", [](SafeTensors& v) { v.metadata["shape"] = "[]"; });
    variant("q_shapeneg.safetensors", [](SafeTensors& v) { v.metadata["shape"] = "[-4,128]"; });
    variant("q_codesshape.safetensors", [](SafeTensors& v) { v.tensors["codes"].shape = {2, 128}; });
    variant("q_noabsmax.safetensors", [](SafeTensors& v) { v.tensors.erase("absmax"); });
    variant("q_nocodes.safetensors", [](SafeTensors& v) { v.tensors.erase("codes"); });
    variant("q_absmaxdtype.safetensors", [](SafeTensors& v) {
      Tensor& a = v.tensors["absmax"];
      a = Tensor::from(DType::U8, {4, 4}, std::vector<uint8_t>(16, 1));
    });
    // A golden directory, and copies (hard links of its cases) with one thing wrong.
    nqkv_ok("golden gen --out " + (F / "g").string(), F);
    fs::create_directories(F / "g_empty");
    const nlohmann::json manifest = [&] {
      std::ifstream in(F / "g/manifest.json");
      return nlohmann::json::parse(in);
    }();
    const std::string first_case = manifest.at("cases").at(0).at("file").get<std::string>();
    auto golden_variant = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit,
                              const std::function<void(const fs::path&)>& files = nullptr) {
      const fs::path d = F / name;
      fs::create_directories(d);
      for (const auto& e : fs::directory_iterator(F / "g"))
        if (e.path().filename() != "manifest.json") fs::create_hard_link(e.path(), d / e.path().filename());
      nlohmann::json m = manifest;
      edit(m);
      write_bytes(d / "manifest.json", m.is_discarded() ? std::string("{\"cases\": ") : m.dump());
      if (files) files(d);
    };
    golden_variant("g_fifo_case", [](nlohmann::json&) {}, [&](const fs::path& d) {
      fs::remove(d / first_case);
      ::mkfifo((d / first_case).c_str(), 0644);
    });
    golden_variant("g_dir_case", [](nlohmann::json&) {}, [&](const fs::path& d) {
      fs::remove(d / first_case);
      fs::create_directories(d / first_case);
    });
    golden_variant("g_fifo_manifest", [](nlohmann::json&) {}, [&](const fs::path& d) {
      fs::remove(d / "manifest.json");
      ::mkfifo((d / "manifest.json").c_str(), 0644);
    });
    golden_variant("g_cut_manifest", [](nlohmann::json& m) { m = nlohmann::json(nlohmann::json::value_t::discarded); });
    golden_variant("g_array_manifest", [](nlohmann::json& m) { m = nlohmann::json::array({1, 2}); });
    golden_variant("g_format", [](nlohmann::json& m) { m["format"] = "nqkv-golden-v0"; });
    golden_variant("g_cases_object", [](nlohmann::json& m) { m["cases"] = nlohmann::json::object(); });
    golden_variant("g_traversal", [](nlohmann::json& m) { m["cases"][0]["file"] = "../in.safetensors"; });
    golden_variant("g_absolute", [](nlohmann::json& m) { m["cases"][0]["file"] = "/etc/passwd"; });
    golden_variant("g_bytes_string", [](nlohmann::json& m) { m["cases"][0]["bytes"] = "12"; });
    golden_variant("g_bytes_huge", [](nlohmann::json& m) { m["cases"][0]["bytes"] = 1e30; });
    golden_variant("g_bytes_negative", [](nlohmann::json& m) { m["cases"][0]["bytes"] = -1; });
    golden_variant("g_sha_number", [](nlohmann::json& m) { m["cases"][0]["sha256"] = 5; });
    golden_variant("g_no_file", [](nlohmann::json& m) { m["cases"][0].erase("file"); });
    golden_variant("g_seed_negative", [](nlohmann::json& m) { m["seed"] = -1; });
    golden_variant("g_seed_string", [](nlohmann::json& m) { m["seed"] = "1"; });
    golden_variant("g_duplicate", [](nlohmann::json& m) { m["cases"].push_back(m["cases"][0]); });
    // Model configs and hardware files.
    write_bytes(F / "config.json", kConfigOk);
    // nqkv dse specs: one good (no area, no quality: fast), one per kind of mistake.
    write_bytes(F / "dse_ok.yaml", "version: 1\nevaluators: {area: {enabled: 0}, quality: {enabled: 0}}\n");
    write_bytes(F / "dse_key.yaml", "version: 1\nhardware: {lanse: 4}\n");
    write_bytes(F / "dse_type.yaml", "version: 1\nhardware: {lanes: four}\n");
    write_bytes(F / "dse_empty.yaml", "version: 1\nformat: {block: []}\n");
    write_bytes(F / "dse_range.yaml", "version: 1\nworkload: {context: {from: 4096, to: 1024, step: 2}}\n");
    write_bytes(F / "dse_constraint.yaml", "version: 1\nconstraints: ['blok <= block_max']\n");
    write_bytes(F / "dse_model.yaml", "version: 1\nworkload: {model: nosuch-model}\n");
    write_bytes(F / "dse_yaml.yaml", "version: 1\n  hardware: [\n");
    write_bytes(F / "dse_version.yaml", "version: 7\n");
    write_bytes(F / "dse_memory.yaml", "version: 1\nsystem: {memory: {name: sram9, bandwidth_gbs: 1, capacity_gib: 1, pj_per_bit: 1}}\n");
    write_bytes(F / "dse_objective.yaml", "version: 1\nobjectives: [max speed]\n");
    write_bytes(F / "dse_strategy.yaml", "version: 1\nstrategy: random:-3\n");
    write_bytes(F / "cfg_1e400.json", config_with("hidden_size", "1e400"));
    write_bytes(F / "cfg_string.json", config_with("num_attention_heads", "\"4\""));
    write_bytes(F / "cfg_float.json", config_with("num_attention_heads", "4.5"));
    write_bytes(F / "cfg_negative.json", config_with("num_hidden_layers", "-2"));
    write_bytes(F / "cfg_zero_heads.json", config_with("num_attention_heads", "0"));
    write_bytes(F / "cfg_huge.json", config_with("hidden_size", "1e18"));
    write_bytes(F / "cfg_kv.json", config_with("num_key_value_heads", "3"));
    write_bytes(F / "cfg_null.json", config_with("vocab_size", "null"));
    write_bytes(F / "cfg_bool.json", config_with("max_position_embeddings", "true"));
    write_bytes(F / "cfg_headdim.json", config_with("head_dim", "100000"));
    write_bytes(F / "cfg_dtype.json", config_with("torch_dtype", "\"float7\""));
    write_bytes(F / "cfg_array.json", "[1, 2, 3]");
    write_bytes(F / "cfg_notjson.json", "{\"model_type\": ");
    write_bytes(F / "cfg_empty.json", "");
    write_bytes(F / "cfg_missing.json", R"({"model_type": "llama"})");
    write_bytes(F / "hw.json", hw_with(kHwFields));
    write_bytes(F / "hw_1e400.json", hw_with(R"("memory_gib": 1e400, "bandwidth_gb_s": 1000, "fp16_tflops": 100)"));
    write_bytes(F / "hw_string.json", hw_with(R"("memory_gib": "24", "bandwidth_gb_s": 1000, "fp16_tflops": 100)"));
    write_bytes(F / "hw_negative.json", hw_with(R"("memory_gib": -24, "bandwidth_gb_s": 1000, "fp16_tflops": 100)"));
    write_bytes(F / "hw_zero.json", hw_with(R"("memory_gib": 24, "bandwidth_gb_s": 0, "fp16_tflops": 100)"));
    write_bytes(F / "hw_missing.json", hw_with(R"("memory_gib": 24)"));
    write_bytes(F / "hw_noname.json", R"({"hardware": [{"memory_gib": 24, "bandwidth_gb_s": 1000, "fp16_tflops": 100}]})");
    write_bytes(F / "hw_notarray.json", R"({"hardware": {"name": "x"}})");
    write_bytes(F / "hw_lanes.json",
                R"({"hardware": [{"name": "acc", "accelerator": {"lanes": 1e30, "clock_mhz": 1000, "bandwidth_gb_s": 100}}]})");
    write_bytes(F / "hw_notjson.json", "{{{");
    write_bytes(F / "deep.json", std::string(100000, '[') + std::string(100000, ']'));
    // A llama2.c model and its tokenizer, and broken copies.
    fs::create_directories(F / "ck");
    const std::string ck = checkpoint_bytes(), tok = tokenizer_bytes();
    write_bytes(F / "ck/model.bin", ck);
    write_bytes(F / "ck/tok300.bin", tok);
    write_bytes(F / "ck_trunc.bin", ck.substr(0, ck.size() / 2));
    write_bytes(F / "ck_header_only.bin", ck.substr(0, 20));
    write_bytes(F / "ck_trailing.bin", ck + "junk");
    write_bytes(F / "ck_dim0.bin", checkpoint_header(0, 64, 1, 4, 4, kVocab, 32));
    write_bytes(F / "ck_heads.bin", checkpoint_header(32, 64, 1, 3, 3, kVocab, 32) + std::string(1000, '\0'));
    write_bytes(F / "ck_huge.bin", checkpoint_header(1 << 20, 1 << 20, 4096, 8, 8, 1 << 20, 1 << 20));
    write_bytes(F / "ck_vocabmin.bin", checkpoint_header(32, 64, 1, 4, 4, INT32_MIN, 32));
    write_bytes(F / "tok_trunc.bin", tok.substr(0, tok.size() / 2));
    write_bytes(F / "tok_badmax.bin", std::string("\xff\xff\xff\xff", 4) + tok.substr(4));
    write_bytes(F / "tok_trailing.bin", tok + "xx");
    {
      std::string t = tok;
      const int32_t bad = 1 << 30;
      std::memcpy(t.data() + 8, &bad, 4);  // the first token's length
      write_bytes(F / "tok_badlen.bin", t);
    }
    // A model without a tokenizer beside it.
    fs::create_directories(F / "ck_alone");
    write_bytes(F / "ck_alone/model.bin", ck);
    // GGUF models (issue 19): a good tiny llama (vocab 270, context 64, kv_dim 32) and broken ones.
    {
      const std::vector<uint8_t> t = nqkv::test::tiny_model(5, true).bytes;
      const std::string good(t.begin(), t.end());
      write_bytes(F / "tiny.gguf", good);
      write_bytes(F / "gguf_trunc.gguf", good.substr(0, good.size() / 2));
      write_bytes(F / "gguf_magic.gguf", "GGUX" + good.substr(4));
      std::string count = good;
      const uint64_t huge = uint64_t{1} << 60;
      std::memcpy(count.data() + 8, &huge, 8);  // tensor count
      write_bytes(F / "gguf_count.gguf", count);
      nqkv::test::GgufBuilder b;
      b.str("general.architecture", "llama");
      b.tensor_f32("w", {2}, {1.0f, 2.0f});
      const std::vector<uint8_t> wb = b.bytes();
      std::string off(wb.begin(), wb.end());
      const size_t at = off.find(std::string("\x01\0\0\0\0\0\0\0w", 9)) + 9 + 4 + 8 + 4;  // name, n_dims, ne, type
      const uint64_t far = uint64_t{1} << 40;
      std::memcpy(off.data() + at, &far, 8);
      write_bytes(F / "gguf_offset.gguf", off);
      nqkv::test::GgufBuilder a;
      a.str("general.architecture", "gpt2");
      const std::vector<uint8_t> ab = a.bytes();
      write_bytes(F / "gguf_arch.gguf", std::string(ab.begin(), ab.end()));
      const std::vector<uint8_t> tk = nqkv::test::tiny_model(5, true, "llama").bytes;
      write_bytes(F / "gguf_tok.gguf", std::string(tk.begin(), tk.end()));
    }
    // A directory that accepts no new file: as root permissions do not stop a write, so /proc.
    if (::geteuid() == 0) {
      RO = "/proc";
    } else {
      RO = F / "ro";
      fs::create_directories(RO);
      fs::permissions(RO, fs::perms::owner_read | fs::perms::owner_exec);
    }
  }

  void remove() {
    std::error_code ec;
    if (RO.string().rfind(F.string(), 0) == 0) fs::permissions(RO, fs::perms::owner_all, ec);
    fs::remove_all(base, ec);
  }
};

BadInputEnv& env() {
  static BadInputEnv e;
  return e;
}

std::map<std::string, int>& counts() {
  static std::map<std::string, int> c;
  return c;
}
std::map<std::string, int>& failures() {
  static std::map<std::string, int> c;
  return c;
}
std::map<std::string, int>& pendings() {
  static std::map<std::string, int> c;
  return c;
}

class Env : public ::testing::Environment {
 public:
  void SetUp() override { env().make(); }
  void TearDown() override {
    int total = 0, failed = 0;
    int pending = 0;
    std::printf("bad-input cases per subcommand:\n");
    for (const auto& [cmd, n] : counts()) {
      std::printf("  %-11s %4d", cmd.c_str(), n);
      if (failures()[cmd]) std::printf("  (%d failed)", failures()[cmd]);
      if (pendings()[cmd]) std::printf("  (%d pending: still failing, fix owned elsewhere)", pendings()[cmd]);
      std::printf("\n");
      total += n;
      failed += failures()[cmd];
      pending += pendings()[cmd];
    }
    std::printf("  %-11s %4d  (%d failed, %d pending)\n", "total", total, failed, pending);
    env().remove();
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Env);

// Runs one case with every check (gtest failures name the command line).
void check_case(const Case& c, int index) {
  const BadInputEnv& e = env();
  if (c.needs_ceiling && kSanitized) return;
  const fs::path O = e.base / ("O" + std::to_string(index));
  fs::create_directories(O);
  std::string args = replace_all(replace_all(replace_all(c.args, "{F}", e.F.string()), "{O}", O.string()), "{RO}",
                                 e.RO.string());
  Snapshot before;
  snapshot_into(e.F, before);
  snapshot_into(O, before);
  const Outcome o = run_nqkv(split_args(args), O, e.base / "err" / (std::to_string(index) + ".txt"),
                             c.full_stdout ? "/dev/full" : "/dev/null");
  Snapshot after;
  snapshot_into(e.F, after);
  snapshot_into(O, after);
  ++counts()[c.cmd];
  std::vector<std::string> problems;
  auto want = [&](bool ok, const std::string& what) {
    if (!ok) problems.push_back(what);
  };
  want(!o.timed_out, "still running after " + std::to_string(kTimeLimitSeconds) + " s (the check must come before the work)");
  want(o.signal == 0, "killed by signal " + std::to_string(o.signal) + " (" + strsignal(o.signal) + ")");
  want(o.status == 2, "exit status " + std::to_string(o.status) + ", not 2");
  want(std::count(o.err.begin(), o.err.end(), '\n') == 1, "stderr is not exactly one line");
  want(o.err.rfind("nqkv: error:", 0) == 0, "stderr does not start with 'nqkv: error:'");
  want(o.err.find(c.expect) != std::string::npos, "stderr does not mention '" + c.expect + "'");
  const std::string diff = snapshot_diff(before, after);
  want(diff.empty(), "files changed:\n" + diff);
  std::string report;
  for (const auto& p : problems) report += "  " + p + "\n";
  if (!c.pending.empty()) {
    if (problems.empty()) {
      std::printf("PASSES NOW (drop its pending mark): nqkv %s\n", args.c_str());
    } else {
      ++pendings()[c.cmd];
      std::printf("pending (%s): nqkv %s\n%s  stderr: %s", c.pending.c_str(), args.c_str(), report.c_str(),
                  o.err.empty() ? "(none)\n" : o.err.c_str());
    }
  } else if (!problems.empty()) {
    ++failures()[c.cmd];
    ADD_FAILURE() << "nqkv " << args << "\n" << report << "stderr: " << o.err;
  }
  if (std::getenv("NQKV_BAD_INPUT_VERBOSE")) std::printf("nqkv %s\n  -> %d: %s", args.c_str(), o.status, o.err.c_str());
  std::error_code ec;
  fs::remove_all(O, ec);
}

void run_table(const std::vector<Case>& cases) {
  static int index = 0;
  for (const auto& c : cases) check_case(c, index++);
}

// ---- the table ----------------------------------------------------------------------------------
// Shorthands: the good inputs every case starts from, so that exactly one thing is wrong.
const std::string IN = "--input {F}/in.safetensors";
const std::string OUT = "--output {O}/out.safetensors";
const std::string QIN = "--input {F}/q.safetensors";
const std::string CK = "--checkpoint {F}/ck/model.bin";

std::vector<Case> quantize_cases() {
  std::vector<Case> v = {
      {"quantize", "quantize " + OUT, "--input is required"},
      {"quantize", "quantize " + IN, "--output is required"},
      {"quantize", "quantize --input {F}/missing.safetensors " + OUT, "cannot open"},
      {"quantize", "quantize --input '' " + OUT, "--input"},
      {"quantize", "quantize " + IN + " --output ''", "must not be empty"},
      {"quantize", "quantize " + IN + " " + OUT + " --tensor ''", "must not be empty"},
      {"quantize", "quantize --input {F}/adir " + OUT, "is a directory"},
      {"quantize", "quantize --input {F}/fifo " + OUT, "not a regular file"},
      {"quantize", "quantize --input /dev/zero " + OUT, "not a regular file"},
      {"quantize", "quantize --input /dev/null " + OUT, "not a regular file"},
      {"quantize", "quantize --input {F}/sparse.bin " + OUT, "exceeds the limit"},
      {"quantize", "quantize --input {F}/big.safetensors " + OUT, "half the memory available", true},
      {"quantize", "quantize --input {F}/empty.bin " + OUT, "truncated"},
      {"quantize", "quantize --input {F}/short.safetensors " + OUT, "truncated"},
      {"quantize", "quantize --input {F}/trunc.safetensors " + OUT, "truncated"},
      {"quantize", "quantize --input {F}/trunc_header.safetensors " + OUT, "not a valid safetensors file"},
      {"quantize", "quantize --input {F}/notjson.safetensors " + OUT, "not valid JSON"},
      {"quantize", "quantize --input {F}/array_header.safetensors " + OUT, "not a valid safetensors file"},
      {"quantize", "quantize --input {F}/hugeheader.safetensors " + OUT, "not a valid safetensors file"},
      {"quantize", "quantize --input {F}/hugeshape.safetensors " + OUT, "safetensors"},
      {"quantize", "quantize --input {F}/overflowshape.safetensors " + OUT, "safetensors"},
      {"quantize", "quantize --input {F}/negshape.safetensors " + OUT, "safetensors"},
      {"quantize", "quantize --input {F}/floatshape.safetensors " + OUT, "safetensors"},
      {"quantize", "quantize --input {F}/bigoffsets.safetensors " + OUT, "safetensors"},
      {"quantize", "quantize --input {F}/1e400.safetensors " + OUT, "safetensors"},
      {"quantize", "quantize --input {F}/baddtype.safetensors " + OUT, "Q99"},
      {"quantize", "quantize --input {F}/text.txt " + OUT, "not a valid safetensors file"},
      {"quantize", "quantize --input {F}/i32.safetensors " + OUT, "dtype I32"},
      {"quantize", "quantize --input {F}/q.safetensors " + OUT, "no tensor named 'x'"},
      {"quantize", "quantize --input {F}/scalar.safetensors " + OUT, "empty or a scalar"},
      {"quantize", "quantize --input {F}/empty_tensor.safetensors " + OUT, "empty or a scalar"},
      {"quantize", "quantize --input {F}/cols96.safetensors " + OUT, "does not divide the last dimension 96"},
      {"quantize", "quantize --input {F}/nan.safetensors " + OUT, "NaN or Inf"},
      {"quantize", "quantize --input {F}/inf.safetensors " + OUT, "NaN or Inf"},
      {"quantize", "quantize " + IN + " " + OUT + " --tensor keys", "no tensor named 'keys'"},
      {"quantize", "quantize " + IN + " " + OUT + " --codebook nf5", "unknown codebook 'nf5'"},
      {"quantize", "quantize " + IN + " " + OUT + " --codebook ''", "must not be empty"},
      {"quantize", "quantize " + IN + " " + OUT + " --block 0", "--block"},
      {"quantize", "quantize " + IN + " " + OUT + " --block 3", "multiple of 8"},
      {"quantize", "quantize " + IN + " " + OUT + " --block -64", "--block"},
      {"quantize", "quantize " + IN + " " + OUT + " --block 1e400", "--block"},
      {"quantize", "quantize " + IN + " " + OUT + " --block 99999999999999999999", "--block"},
      {"quantize", "quantize " + IN + " " + OUT + " --block 64.5", "--block"},
      {"quantize", "quantize " + IN + " " + OUT + " --block nan", "--block"},
      {"quantize", "quantize " + IN + " " + OUT + " --block 2147483648", "--block"},
      {"quantize", "quantize " + IN + " --output {F}/in.safetensors", "is an input"},
      {"quantize", "quantize " + IN + " --output {F}/link.safetensors", "is an input"},
      {"quantize", "quantize " + IN + " --output {F}/hardlink.safetensors", "is an input"},
      {"quantize", "quantize " + IN + " --output {F}/adir/../in.safetensors", "is an input"},
      {"quantize", "quantize --input {F}/link.safetensors --output {F}/in.safetensors", "is an input"},
      {"quantize", "quantize --input {F}/dangling.safetensors " + OUT, "cannot open"},
      {"quantize", "quantize " + IN + " --output {O}/" + std::string(250, 'n') + ".safetensors", "File name too long"},
      {"quantize", "quantize " + IN + " --output {F}/adir", "is a directory"},
      {"quantize", "quantize " + IN + " --output {F}/fifo", "not a regular file"},
      {"quantize", "quantize " + IN + " --output {O}/nodir/out.safetensors", "does not exist"},
      {"quantize", "quantize " + IN + " --output {RO}/out.safetensors", "cannot create files"},
      {"quantize", "quantize " + IN + " --output {F}/in.safetensors/x", "does not exist"},
      {"quantize", "quantize " + IN + " " + OUT + " --frobnicate", "frobnicate"},
      {"quantize", "quantize " + IN + " " + OUT + " extra", "extra"},
  };
  return v;
}

std::vector<Case> dequantize_cases() {
  return {
      {"dequantize", "dequantize " + OUT, "--input is required"},
      {"dequantize", "dequantize --input {F}/missing.safetensors " + OUT, "cannot open"},
      {"dequantize", "dequantize --input {F}/adir " + OUT, "is a directory"},
      {"dequantize", "dequantize --input /dev/zero " + OUT, "not a regular file"},
      {"dequantize", "dequantize --input {F}/fifo " + OUT, "not a regular file"},
      {"dequantize", "dequantize --input {F}/sparse.bin " + OUT, "exceeds the limit"},
      {"dequantize", "dequantize --input {F}/big.safetensors " + OUT, "half the memory available", true},
      {"dequantize", "dequantize --input {F}/trunc.safetensors " + OUT, "truncated"},
      {"dequantize", "dequantize --input {F}/hugeshape.safetensors " + OUT, "safetensors"},
      {"dequantize", "dequantize " + IN + " " + OUT, "not an nqkv quantized file"},
      {"dequantize", "dequantize --input {F}/q_nometa.safetensors " + OUT, "not an nqkv quantized file"},
      {"dequantize", "dequantize --input {F}/q_format.safetensors " + OUT, "unsupported nqkv.format"},
      {"dequantize", "dequantize --input {F}/q_codebook.safetensors " + OUT, "unknown codebook 'nf9'"},
      {"dequantize", "dequantize --input {F}/q_dtype.safetensors " + OUT, "f64"},
      {"dequantize", "dequantize --input {F}/q_block0.safetensors " + OUT, "inconsistent"},
      {"dequantize", "dequantize --input {F}/q_blockneg.safetensors " + OUT, "q_blockneg"},
      {"dequantize", "dequantize --input {F}/q_blockhuge.safetensors " + OUT, "corrupt metadata"},
      {"dequantize", "dequantize --input {F}/q_blocktext.safetensors " + OUT, "corrupt metadata"},
      {"dequantize", "dequantize --input {F}/q_block3.safetensors " + OUT, "inconsistent"},
      {"dequantize", "dequantize --input {F}/q_shapejunk.safetensors " + OUT, "corrupt metadata"},
      {"dequantize", "dequantize --input {F}/q_shapetype.safetensors " + OUT, "corrupt metadata"},
      {"dequantize", "dequantize --input {F}/q_shape1e400.safetensors " + OUT, "corrupt metadata"},
      {"dequantize", "dequantize --input {F}/q_shapehuge.safetensors " + OUT, "q_shapehuge"},
      {"dequantize", "dequantize --input {F}/q_shapeempty.safetensors " + OUT, "inconsistent"},
      {"dequantize", "dequantize --input {F}/q_shapeneg.safetensors " + OUT, "q_shapeneg"},
      {"dequantize", "dequantize --input {F}/q_codesshape.safetensors " + OUT, "wrong dtype or shape"},
      {"dequantize", "dequantize --input {F}/q_noabsmax.safetensors " + OUT, "absmax"},
      {"dequantize", "dequantize --input {F}/q_nocodes.safetensors " + OUT, "codes"},
      {"dequantize", "dequantize --input {F}/q_absmaxdtype.safetensors " + OUT, "wrong dtype or shape"},
      {"dequantize", "dequantize " + QIN + " " + OUT + " --dtype f8", "--dtype"},
      {"dequantize", "dequantize " + QIN + " --output ''", "must not be empty"},
      {"dequantize", "dequantize " + QIN + " --output {F}/q.safetensors", "is an input"},
      {"dequantize", "dequantize " + QIN + " --output {O}/nodir/d.safetensors", "does not exist"},
      {"dequantize", "dequantize " + QIN + " --output {RO}/d.safetensors", "cannot create files"},
      {"dequantize", "dequantize " + QIN + " --output {F}/adir", "is a directory"},
      {"dequantize", "dequantize " + QIN + " --output {F}/fifo", "not a regular file"},
  };
}

std::vector<Case> golden_cases() {
  return {
      {"golden", "golden", "subcommand"},
      {"golden", "golden frob", "frob"},
      {"golden", "golden gen", "--out is required"},
      {"golden", "golden gen --out ''", "must not be empty"},
      {"golden", "golden check ''", "must not be empty"},
      {"golden", "golden check {F}/g --results ''", "must not be empty"},
      {"golden", "golden gen --out {O}/g --seed -1", "must not be negative"},
      {"golden", "golden gen --out {O}/g --seed 1e400", "--seed"},
      {"golden", "golden gen --out {O}/g --seed 99999999999999999999999", "--seed"},
      {"golden", "golden gen --out {O}/g --seed abc", "--seed"},
      {"golden", "golden gen --out {F}/text.txt", "text.txt"},
      {"golden", "golden gen --out {F}/ck", "holds no golden manifest"},
      {"golden", "golden gen --out {RO}/g", "g"},
      {"golden", "golden gen --out /dev/null", "/dev/null"},
      {"golden", "golden check", "dir is required"},
      {"golden", "golden check {F}/missing_dir", "not found"},
      {"golden", "golden check {F}/text.txt", "text.txt"},
      {"golden", "golden check {F}/g_empty", "manifest"},
      {"golden", "golden check {F}/adir", "manifest"},
      {"golden", "golden check /dev/null", "/dev/null"},
      {"golden", "golden check {F}/g_fifo_case", "is missing"},
      {"golden", "golden check {F}/g_dir_case", "g_dir_case"},
      {"golden", "golden check {F}/g_fifo_manifest", "manifest"},
      {"golden", "golden check {F}/g_cut_manifest", "not valid JSON"},
      {"golden", "golden check {F}/g_array_manifest", "manifest"},
      {"golden", "golden check {F}/g_format", "unknown format"},
      {"golden", "golden check {F}/g_cases_object", "manifest"},
      {"golden", "golden check {F}/g_traversal", "bad case file name"},
      {"golden", "golden check {F}/g_absolute", "bad case file name"},
      {"golden", "golden check {F}/g_bytes_string", "manifest"},
      {"golden", "golden check {F}/g_bytes_huge", "manifest"},
      {"golden", "golden check {F}/g_bytes_negative", "manifest"},
      {"golden", "golden check {F}/g_sha_number", "manifest"},
      {"golden", "golden check {F}/g_no_file", "manifest"},
      {"golden", "golden check {F}/g_seed_string", "manifest"},
      {"golden", "golden check {F}/g_seed_negative", "'seed' must be a non-negative integer"},
      {"golden", "golden check {F}/g_duplicate", "is listed twice"},
      {"golden", "golden check {F}/g --backend verilog", "unknown backend 'verilog'"},
      {"golden", "golden check {F}/g --backend ''", "must not be empty"},
      {"golden", "golden check {F}/g --lanes -3", "--lanes"},
      {"golden", "golden check {F}/g --backend cpu --lanes 4", "no LANES builds"},
      {"golden", "golden check {F}/g --lanes 1e400", "--lanes"},
      {"golden", "golden check {F}/g --backend systemc --lanes 7", "LANES 7"},
      {"golden", "golden check {F}/g --seed -1", "must not be negative"},
      {"golden", "golden check {F}/g --results {F}/missing.safetensors", "cannot open"},
      {"golden", "golden check {F}/g --results {F}/adir", "is a directory"},
      {"golden", "golden check {F}/g --results /dev/zero", "not a regular file"},
      {"golden", "golden check {F}/g --results {F}/fifo", "not a regular file"},
      {"golden", "golden check {F}/g --results {F}/sparse.bin", "exceeds the limit"},
      {"golden", "golden check {F}/g --results {F}/big.safetensors", "half the memory available", true},
      {"golden", "golden check {F}/g --results {F}/trunc.safetensors", "truncated"},
      {"golden", "golden check {F}/g --results {F}/hugeshape.safetensors", "safetensors"},
      {"golden", "golden check {F}/g --results {F}/notjson.safetensors", "not valid JSON"},
      {"golden", "golden check {F}/g --results {F}/in.safetensors", "no golden case could be checked"},
      {"golden", "golden check {F}/g --results {F}/q.safetensors --lanes 4", "--lanes applies to a backend"},
  };
}

std::vector<Case> quality_cases() {
  return {
      {"quality", "quality --elements 0", "--elements"},
      {"quality", "quality --elements 1000", "--elements"},
      {"quality", "quality --elements -1024", "--elements"},
      {"quality", "quality --elements 1099511627776", "--elements"},
      {"quality", "quality --elements 1e400", "--elements"},
      {"quality", "quality --elements 99999999999999999999999", "--elements"},
      {"quality", "quality --blocks 0", "--blocks"},
      {"quality", "quality --blocks 3", "--blocks"},
      {"quality", "quality --blocks -32", "--blocks"},
      {"quality", "quality --blocks 1e400", "--blocks"},
      {"quality", "quality --elements 1024 --blocks 2048", "divides --elements"},
      {"quality", "quality --seed -1", "must not be negative"},
      {"quality", "quality --seed 18446744073709551616", "--seed"},
      {"quality", "quality --seed 010", "decimal"},
      {"quality", "quality --seed 0x10", "decimal"},
      {"quality", "quality --csv {O}/nodir/q.csv", "does not exist"},
      {"quality", "quality --csv {RO}/q.csv", "cannot create files"},
      {"quality", "quality --csv {F}/adir", "is a directory"},
      {"quality", "quality --csv {F}/fifo", "not a regular file"},
      {"quality", "quality --plot {O}/nodir/q.png", "does not exist"},
      {"quality", "quality --plot {RO}/q.png", "cannot create files"},
      {"quality", "quality --csv {O}/same --plot {O}/same", "name the same file"},
      {"quality", "quality --frob", "frob"},
      {"quality", "quality --csv ''", "must not be empty"},
      {"quality", "quality --plot ''", "must not be empty"},
      {"quality", "quality --elements 1024 --blocks 32 --csv -", "No space left on device", false, "", true},
      {"quality", "quality --elements 1024 --blocks 32", "No space left on device", false, "", true},
  };
}

std::vector<Case> codebooks_cases() {
  return {
      {"codebooks", "codebooks --frob", "frob"},
      {"codebooks", "codebooks extra", "extra"},
      {"codebooks", "codebooks --markdown", "markdown"},
      {"codebooks", "codebooks", "No space left on device", false, "", true},
      {"codebooks", "codebooks --json", "No space left on device", false, "", true},
  };
}

std::vector<Case> backends_cases() {
  return {
      {"backends", "backends --frob", "frob"},
      {"backends", "backends extra", "extra"},
      {"backends", "backends --json=maybe", "json"},
      {"backends", "backends", "No space left on device", false, "", true},
      {"backends", "backends --json", "No space left on device", false, "", true},
  };
}

std::vector<Case> nqkv_cases() {
  return {
      {"nqkv", "", "subcommand"},
      {"nqkv", "frobnicate", "frobnicate"},
      {"nqkv", "--frob", "subcommand"},
  };
}

std::vector<Case> project_cases() {
  const std::string P = "project --model opt-6.7b";
  std::vector<Case> v = {
      {"project", "project", "--model is required"},
      {"project", "project --model nosuch", "unknown model 'nosuch'"},
      {"project", "project --model {F}/missing.json", "cannot open"},
      {"project", "project --model {F}/adir/", "is a directory"},
      {"project", "project --model /dev/zero", "not a regular file"},
      {"project", "project --model {F}/fifo", "not a regular file"},
      {"project", "project --model {F}/sparse.bin", "exceeds the limit"},
      {"project", "project --model {F}/cfg_1e400.json", "cfg_1e400.json"},
      {"project", "project --model {F}/cfg_string.json", "num_attention_heads"},
      {"project", "project --model {F}/cfg_float.json", "num_attention_heads"},
      {"project", "project --model {F}/cfg_negative.json", "num_hidden_layers"},
      {"project", "project --model {F}/cfg_zero_heads.json", "num_attention_heads"},
      {"project", "project --model {F}/cfg_huge.json", "hidden_size"},
      {"project", "project --model {F}/cfg_kv.json", "num_key_value_heads"},
      {"project", "project --model {F}/cfg_null.json", "vocab_size"},
      {"project", "project --model {F}/cfg_bool.json", "max_position_embeddings"},
      {"project", "project --model {F}/cfg_headdim.json", "head_dim"},
      {"project", "project --model {F}/cfg_dtype.json", "torch_dtype"},
      {"project", "project --model {F}/cfg_array.json", "expected a JSON object"},
      {"project", "project --model {F}/cfg_notjson.json", "not valid JSON"},
      {"project", "project --model {F}/cfg_empty.json", "not valid JSON"},
      {"project", "project --model {F}/cfg_missing.json", "num_hidden_layers"},
      {"project", "project --model {F}/deep.json", "deep.json"},
      {"project", P + " --gpu nosuch", "nosuch"},
      {"project", P + " --gpu ''", "must not be empty"},
      {"project", P + " -o ''", "must not be empty"},
      {"project", P + " --hw-file ''", "must not be empty"},
      {"project", P + " --plot ''", "must not be empty"},
      {"project", P + " --hw-file {F}/missing.json", "cannot open"},
      {"project", P + " --hw-file {F}/adir", "is a directory"},
      {"project", P + " --hw-file /dev/zero", "not a regular file"},
      {"project", P + " --hw-file {F}/sparse.bin", "exceeds the limit"},
      {"project", P + " --hw-file {F}/hw_1e400.json", "hw_1e400.json"},
      {"project", P + " --hw-file {F}/hw_string.json", "memory_gib"},
      {"project", P + " --hw-file {F}/hw_negative.json", "memory_gib"},
      {"project", P + " --hw-file {F}/hw_zero.json", "bandwidth_gb_s"},
      {"project", P + " --hw-file {F}/hw_missing.json", "bandwidth_gb_s"},
      {"project", P + " --hw-file {F}/hw_noname.json", "name"},
      {"project", P + " --hw-file {F}/hw_notarray.json", "must be an array"},
      {"project", P + " --hw-file {F}/hw_lanes.json", "lanes"},
      {"project", P + " --hw-file {F}/hw_notjson.json", "not valid JSON"},
      {"project", P + " --hw-file {F}/cfg_empty.json", "not valid JSON"},
      {"project", P + " --hw-file {F}/deep.json", "deep.json"},
      {"project", P + " --kv nosuch", "unknown KV format 'nosuch'"},
      {"project", P + " --kv ,", "--kv needs at least one format"},
      {"project", "project --model llama-3-70b --gpu l4", "does not fit"},
      {"project", P + " --gen 4096 --context 2048", "must be smaller than --context"},
      {"project", "project --model {F}/config.json -o {F}/config.json", "is an input"},
      {"project", P + " --hw-file {F}/hw.json --gpu mygpu -o {F}/hw.json", "is an input"},
      {"project", P + " -o {O}/nodir/p.txt", "does not exist"},
      {"project", P + " -o {RO}/p.txt", "cannot create files"},
      {"project", P + " -o {F}/adir", "is a directory"},
      {"project", P + " -o {F}/fifo", "not a regular file"},
      {"project", P + " --plot {F}/text.txt", "not a directory"},
      {"project", P + " --plot {RO}/plots", "cannot create files"},
      {"project", P + " --plot {F}/text.txt/sub/dir", "not a directory"},
      {"project", P + " --list -o {F}/hw.json --hw-file {F}/hw.json", "is an input"},
      {"project", P, "No space left on device", false, "", true},
      {"project", P + " --json", "No space left on device", false, "", true},
      {"project", "project --list", "No space left on device", false, "", true},
  };
  // Numeric flags: zero, negative, NaN, inf, 1e400, out of range, not a number.
  const std::pair<const char*, std::vector<const char*>> flags[] = {
      {"--block", {"0", "3", "-64", "1e400", "abc"}},
      {"--kivi-group", {"0", "-1"}},
      {"--kivi-residual", {"-1"}},
      {"--context", {"0", "-5", "1e400", "99999999999999999999"}},
      {"--gen", {"0", "-5"}},
      {"--batch", {"-1", "100000000000000"}},
      {"--context-batch", {"0"}},
      {"--mem-util", {"0", "1.5", "nan", "-0.5", "1e-300"}},
      {"--reserve-gib", {"-1", "inf"}},
      {"--page-tokens", {"0"}},
      {"--prefill-chunk", {"0", "-1"}},
      {"--act-per-seq-mib", {"-5", "nan"}},
      {"--workspace-gib", {"-2", "1e400"}},
      {"--weight-bytes", {"-3", "0", "nan", "1e-300", "9"}},
      {"--mem-eff", {"0", "-0.5", "1.5", "nan", "inf", "1e400", "1e-300"}},
      {"--compute-eff", {"0", "-1", "2", "1e-300"}},
      {"--accel-lanes", {"0", "-4"}},
      {"--accel-clock-mhz", {"-1", "0"}},
      {"--accel-bw-gbs", {"-100"}},
      {"--accel-buffer-kib", {"-1"}},
  };
  for (const auto& [flag, values] : flags)
    for (const char* value : values) v.push_back({"project", P + " " + flag + " " + value, flag});
  return v;
}

std::vector<Case> sim_cases() {
  const std::string S = "sim --backend systemc --model tiny --context 4";
  std::vector<Case> v = {
      {"sim", "sim --backend verilog", "unknown backend 'verilog'"},
      {"sim", "sim --backend cpu", "has no clock"},
      {"sim", S + " --lanes 7", "LANES 7"},
      {"sim", S + " --codebook nf9", "unknown codebook"},
      {"sim", S + " --codebook int4", "affine"},
      {"sim", S + " --dtype f64", "f64"},
      {"sim", S + " --block 48", "48"},
      {"sim", "sim --backend systemc --model nosuch", "unknown model 'nosuch'"},
      {"sim", "sim --backend systemc --model {F}/missing.json", "cannot open"},
      {"sim", "sim --backend systemc --model {F}/adir/", "is a directory"},
      {"sim", "sim --backend systemc --model /dev/zero", "not a regular file"},
      {"sim", "sim --backend systemc --model {F}/cfg_string.json", "num_attention_heads"},
      {"sim", "sim --backend systemc --model {F}/cfg_1e400.json", "cfg_1e400.json"},
      {"sim", "sim --backend systemc --model {F}/cfg_headdim.json", "head_dim"},
      {"sim", "sim --backend systemc --q-heads 6 --kv-heads 4 --head-dim 64 --context 4", "multiple of kv_heads"},
      {"sim", "sim --backend systemc --model tiny --context 1048576 --batch 1", "exceeds the limit"},
      {"sim", "sim --backend systemc --model llama-3-70b --context 1000000", "exceeds the limit"},
      {"sim", S + " --trace-fst {O}/nodir/t.fst", "does not exist"},
      {"sim", S + " --trace-fst {RO}/t.fst", "cannot create files"},
      {"sim", S + " --trace-fst {F}/adir", "is a directory"},
      {"sim", S + " --trace-fst {F}/fifo", "not a regular file"},
      {"sim", S + " --trace-fst ''", "must not be empty"},
      {"sim", "sim --backend systemc --model '' --context 4", "must not be empty"},
      {"sim", S + " --trace-fst {O}/t.fst", "writes no waveform"},  // systemc writes none: refused first
      {"sim", S + " --level warp", "warp"},
  };
  const std::pair<const char*, std::vector<const char*>> flags[] = {
      {"--block", {"0", "-64", "1e400"}},
      {"--context", {"0", "-3", "100000000000", "1e400"}},
      {"--batch", {"0", "-1", "100000000"}},
      {"--q-heads", {"0", "-8"}},
      {"--kv-heads", {"0", "-2"}},
      {"--head-dim", {"0", "100000"}},
      {"--lanes", {"-1"}},
      {"--seed", {"-1", "99999999999999999999999"}},
  };
  for (const auto& [flag, values] : flags)
    for (const char* value : values) v.push_back({"sim", S + " " + flag + " " + value, flag});
  return v;
}

std::vector<Case> dse_cases() {
  const std::string OK = "{F}/dse_ok.yaml";
  return {
      {"dse", "dse plan {F}/missing.yaml", "cannot open"},
      {"dse", "dse plan /dev/zero", "not a regular file"},
      {"dse", "dse plan {F}/adir", "is a directory"},
      {"dse", "dse plan {F}/dse_key.yaml", "hardware.lanse: unknown key; did you mean 'lanes'?"},
      {"dse", "dse plan {F}/dse_type.yaml", "hardware.lanes: expected an integer, got 'four'"},
      {"dse", "dse plan {F}/dse_empty.yaml", "format.block: empty axis"},
      {"dse", "dse plan {F}/dse_range.yaml", "workload.context: empty axis"},
      {"dse", "dse plan {F}/dse_constraint.yaml", "unknown quantity 'blok'"},
      {"dse", "dse plan {F}/dse_model.yaml", "workload.model: unknown model 'nosuch-model'"},
      {"dse", "dse plan {F}/dse_yaml.yaml", "not valid YAML"},
      {"dse", "dse plan {F}/dse_version.yaml", "unsupported version"},
      {"dse", "dse plan {F}/dse_memory.yaml", "no DRAM energy entry for 'sram9'"},
      {"dse", "dse plan {F}/dse_objective.yaml", "unknown metric 'speed'"},
      {"dse", "dse plan {F}/dse_strategy.yaml", "random:N needs N"},
      {"dse", "dse plan {F}/config.json", "unknown key"},
      {"dse", "dse run " + OK + " -o {O}/out --jobs 0", "--jobs"},
      {"dse", "dse run " + OK + " -o {O}/out --jobs 1e400", "--jobs"},
      {"dse", "dse run " + OK + " -o {F}/adir", "exists"},
      {"dse", "dse run " + OK + " -o {RO}/out", "cannot create"},
      {"dse", "dse run " + OK + " -o ''", "must not be empty"},
      {"dse", "dse shard " + OK + " --index 3 --count 2 -o {O}/s", "--index 3 must be below --count 2"},
      {"dse", "dse shard " + OK + " --index -1 --count 2 -o {O}/s", "--index"},
      {"dse", "dse merge {F}/adir -o {O}/m", "not a finished nqkv dse output directory"},
      {"dse", "dse pareto {F}/adir", "not a finished nqkv dse output directory"},
      {"dse", "dse report {F}/adir -o {O}/r.md", "not a finished nqkv dse output directory"},
      {"dse", "dse validate {F}/adir --backend systemc", "not a finished nqkv dse output directory"},
      {"dse", "dse validate {F}/adir --backend verilog", "unknown backend 'verilog'"},
      {"dse", "dse validate {F}/adir --max-context 0", "--max-context"},
  };
}

std::vector<Case> run_cases() {
  const std::string R = "run --layers 1 --context 8 --report {O}/run.md";
  std::vector<Case> v = {
      {"run", "run --layers 1 --context 8", "does not exist"},  // the default reports/run.md: no reports/ here
      {"run", R + " --json {RO}/run.json", "cannot create files"},
      {"run", R + " --json {O}/nodir/run.json", "does not exist"},
      {"run", "run --layers 1 --context 8 --report {RO}/run.md", "cannot create files"},
      {"run", "run --layers 1 --context 8 --report {F}/adir", "is a directory"},
      {"run", "run --layers 1 --context 8 --report {F}/fifo", "not a regular file"},
      {"run", R + " --json {O}/run.md", "name the same file"},
      {"run", "run --model {F}/config.json --layers 1 --context 8 --report {F}/config.json", "is an input"},
      {"run", R + " --model nosuch", "unknown model 'nosuch'"},
      {"run", R + " --json ''", "must not be empty"},
      {"run", "run --layers 1 --context 8 --report ''", "must not be empty"},
      {"run", R + " --model {F}/missing.json", "cannot open"},
      {"run", R + " --model /dev/zero", "not a regular file"},
      {"run", R + " --model {F}/cfg_bool.json", "max_position_embeddings"},
      {"run", R + " --model {F}/cfg_1e400.json", "cfg_1e400.json"},
      {"run", R + " --gpu nosuch", "nosuch"},
      {"run", R + " --model llama-3-70b --gpu l4", "does not fit"},
      {"run", R + " --codebook nf9", "unknown codebook"},
      {"run", R + " --codebook int4", "affine"},
      {"run", R + " --dtype f32", "f16 or bf16"},
      {"run", R + " --dtype f64", "f64"},
      {"run", R + " --block 48", "does not divide head_dim"},
      {"run", "run --layers 1 --context 1048576 --report {O}/run.md", "exceeds the limit"},
      {"run", "run --model llama-3-70b --layers 1 --context 1000000 --report {O}/run.md", "exceeds the limit"},
  };
  const std::pair<const char*, std::vector<const char*>> flags[] = {
      {"--block", {"0", "3", "-64", "1e400"}},
      {"--context", {"0", "-1", "2097152", "1e400"}},
      {"--layers", {"-1", "1e400"}},
      {"--seed", {"-1", "abc"}},
  };
  for (const auto& [flag, values] : flags)
    for (const char* value : values) v.push_back({"run", R + " " + flag + " " + value, flag});
  return v;
}

// kvstats and eval share most of their inputs: the same table for both.
std::vector<Case> llama_cases(const std::string& cmd) {
  const std::string C = cmd + " " + CK;
  std::vector<Case> v = {
      {cmd, cmd, "exactly one of --checkpoint and --gguf"},
      {cmd, C + " --gguf {F}/tiny.gguf", "exactly one of --checkpoint and --gguf"},
      {cmd, cmd + " --gguf {F}/missing.gguf", "cannot open"},
      {cmd, cmd + " --gguf /dev/zero", "not a regular file"},
      {cmd, cmd + " --gguf {F}/gguf_trunc.gguf", "truncated or corrupt"},
      {cmd, cmd + " --gguf {F}/gguf_magic.gguf", "not a GGUF file"},
      {cmd, cmd + " --gguf {F}/gguf_count.gguf", "tensor count"},
      {cmd, cmd + " --gguf {F}/gguf_offset.gguf", "past the end"},
      {cmd, cmd + " --gguf {F}/gguf_arch.gguf", "only 'llama'"},
      {cmd, cmd + " --gguf {F}/gguf_tok.gguf", "only byte-level BPE"},
      {cmd, cmd + " --gguf {F}/text.txt", "not a GGUF file"},
      {cmd, cmd + " --gguf {F}/tiny.gguf --tokenizer {F}/ck/tok300.bin", "a GGUF file holds its tokenizer"},
      {cmd, cmd + " --gguf {F}/tiny.gguf --context 65", "--context 65 must be in 2..64"},
      {cmd, cmd + " --gguf {F}/tiny.gguf --context 1", "--context"},
      {cmd, cmd + " --gguf {F}/tiny.gguf --context 1e400", "--context"},
      {cmd, cmd + " --gguf {F}/tiny.gguf --csv {F}/tiny.gguf", "is an input"},
      {cmd, cmd + " --gguf {F}/tiny.gguf --text {F}/text.txt,{F}/missing.txt", "cannot open"},
      {cmd, cmd + " --gguf {F}/tiny.gguf --text {F}/text.txt --md {F}/text.txt", "is an input"},
      {cmd, cmd + " --checkpoint {F}/missing.bin", "cannot open"},
      {cmd, cmd + " --checkpoint {F}/adir", "is a directory"},
      {cmd, cmd + " --checkpoint /dev/zero", "not a regular file"},
      {cmd, cmd + " --checkpoint {F}/fifo", "not a regular file"},
      {cmd, cmd + " --checkpoint {F}/sparse.bin", "exceeds the limit"},
      {cmd, cmd + " --checkpoint {F}/empty.bin", "truncated"},
      {cmd, cmd + " --checkpoint {F}/ck_trunc.bin --tokenizer {F}/ck/tok300.bin", "truncated"},
      {cmd, cmd + " --checkpoint {F}/ck_header_only.bin", "truncated"},
      {cmd, cmd + " --checkpoint {F}/ck_trailing.bin --tokenizer {F}/ck/tok300.bin", "inconsistent"},
      {cmd, cmd + " --checkpoint {F}/ck_dim0.bin", "bad header"},
      {cmd, cmd + " --checkpoint {F}/ck_heads.bin", "bad header"},
      {cmd, cmd + " --checkpoint {F}/ck_huge.bin", "ck_huge.bin"},
      {cmd, cmd + " --checkpoint {F}/ck_vocabmin.bin", "vocab_size"},
      {cmd, cmd + " --checkpoint {F}/in.safetensors", "in.safetensors"},
      {cmd, cmd + " --checkpoint {F}/ck_alone/model.bin", "no tokenizer beside"},
      {cmd, C + " --tokenizer {F}/missing.bin", "cannot open"},
      {cmd, C + " --tokenizer {F}/adir", "is a directory"},
      {cmd, C + " --tokenizer /dev/zero", "not a regular file"},
      {cmd, C + " --tokenizer {F}/sparse.bin", "exceeds the limit"},
      {cmd, C + " --tokenizer {F}/tok_trunc.bin", "truncated"},
      {cmd, C + " --tokenizer {F}/tok_badmax.bin", "max_token_length"},
      {cmd, C + " --tokenizer {F}/tok_trailing.bin", "trailing bytes"},
      {cmd, C + " --tokenizer {F}/tok_badlen.bin", "length"},
      {cmd, C + " --tokenizer {F}/empty.bin", "truncated"},
      {cmd, C + " --text {F}/missing.txt", "cannot open"},
      {cmd, C + " --text {F}/adir", "is a directory"},
      {cmd, C + " --text /dev/zero", "not a regular file"},
      {cmd, C + " --text {F}/fifo", "not a regular file"},
      {cmd, C + " --text {F}/sparse.bin", "exceeds the limit"},
      {cmd, C + " --type f64", "unknown element type 'f64'"},
      {cmd, C + " --csv {O}/nodir/out.csv", "does not exist"},
      {cmd, C + " --csv {RO}/out.csv", "cannot create files"},
      {cmd, C + " --csv {F}/adir", "is a directory"},
      {cmd, C + " --csv {F}/fifo", "not a regular file"},
      {cmd, C + " --csv {F}/ck/model.bin", "is an input"},
      {cmd, C + " --md {F}/ck/tok300.bin", "is an input"},
      {cmd, C + " --tokenizer {F}/ck/tok300.bin --csv {F}/ck/tok300.bin", "is an input"},
      {cmd, C + " --text {F}/text.txt --md {F}/text.txt", "is an input"},
      {cmd, C + " --csv {O}/a.csv --md {O}/a.csv", "name the same file"},
      {cmd, C + " --md {RO}/out.md", "cannot create files"},
      {cmd, C + " --csv ''", "must not be empty"},
      {cmd, C + " --tokenizer ''", "must not be empty"},
      {cmd, C + " --text ''", "must not be empty"},
  };
  if (cmd == "kvstats") {
    const std::vector<Case> more = {
        {cmd, C + " --blocks 0", "--blocks"},
        {cmd, C + " --blocks -8", "--blocks"},
        {cmd, C + " --blocks 4", "--blocks"},
        {cmd, C + " --blocks 1e400", "--blocks"},
        {cmd, C + " --blocks 24", "divide the K/V row"},
        {cmd, C + " --codebooks nf9", "unknown codebook"},
        {cmd, C + " --seed -1", "must not be negative"},
        {cmd, C + " --dump {RO}/dump.safetensors", "cannot create files"},
        {cmd, C + " --dump {F}/ck/model.bin", "is an input"},
        {cmd, C + " --plot-prefix {O}/nodir/p", "does not exist"},
        {cmd, C + " --plot-prefix {RO}/p", "cannot create files"},
        {cmd, C + " --dump {O}/x --csv {O}/x", "name the same file"},
    };
    v.insert(v.end(), more.begin(), more.end());
  } else {
    const std::vector<Case> more = {
        {cmd, C + " --type f32", "f16 or bf16"},
        {cmd, C + " --path sideways", "--path must be"},
        {cmd, C + " --gen 0", "--gen"},
        {cmd, C + " --gen -5", "--gen"},
        {cmd, C + " --gen 1e400", "--gen"},
        {cmd, C + " --gen 100000000", "--gen"},
        {cmd, C + " --block 0", "--block"},
        {cmd, C + " --block -8", "--block"},
        {cmd, C + " --block 24", "does not divide"},
        {cmd, C + " --block 4", "multiple of 8"},  // the golden cache's limit, before the reference
        {cmd, C + " --kv nf9", "unknown codebook"},
        {cmd, C + " --kv int4 --path golden", "affine"},
        {cmd, C + " --tensors k --path golden", "--path dequant"},
        {cmd, C + " --tensors q", "--tensors"},
        {cmd, C + " --plot {RO}/p.png", "cannot create files"},
        {cmd, C + " --plot {F}/ck/model.bin", "is an input"},
        {cmd, C + " --kv kivi4 --kivi-group 0", "--kivi-group"},
        {cmd, C + " --kv kivi4 --kivi-group -4", "--kivi-group"},
        {cmd, C + " --kv kivi4 --kivi-group 1e400", "--kivi-group"},
        {cmd, C + " --kv kivi4 --kivi-residual 0", "--kivi-residual"},
        {cmd, C + " --kv kivi4 --kivi-residual abc", "--kivi-residual"},
        {cmd, C + " --kv kivi4 --kivi-group 16 --kivi-residual 32", "does not divide head_dim"},
        {cmd, C + " --kv kivi2 --kivi-group 8 --kivi-residual 12", "multiple of the group size"},
        {cmd, C + " --kv kivi2 --kivi-group 8 --kivi-residual 4", "multiple of the group size"},
        {cmd, C + " --kv kivi8", "unknown codebook"},
    };
    v.insert(v.end(), more.begin(), more.end());
  }
  return v;
}

TEST(BadInput, Nqkv) { run_table(nqkv_cases()); }
TEST(BadInput, Quantize) { run_table(quantize_cases()); }
TEST(BadInput, Dequantize) { run_table(dequantize_cases()); }
TEST(BadInput, Golden) { run_table(golden_cases()); }
TEST(BadInput, Quality) { run_table(quality_cases()); }
TEST(BadInput, Codebooks) { run_table(codebooks_cases()); }
TEST(BadInput, Backends) { run_table(backends_cases()); }
TEST(BadInput, Project) { run_table(project_cases()); }
TEST(BadInput, Sim) { run_table(sim_cases()); }
TEST(BadInput, Run) { run_table(run_cases()); }
TEST(BadInput, Dse) { run_table(dse_cases()); }
TEST(BadInput, Kvstats) { run_table(llama_cases("kvstats")); }
TEST(BadInput, Eval) { run_table(llama_cases("eval")); }

std::vector<Case> generate_cases() {
  const std::string G = "generate --gguf {F}/tiny.gguf";
  return {
      {"generate", "generate", "exactly one of --checkpoint and --gguf"},
      {"generate", "generate --gguf {F}/gguf_trunc.gguf", "truncated or corrupt"},
      {"generate", "generate --gguf {F}/gguf_magic.gguf", "not a GGUF file"},
      {"generate", "generate --gguf {F}/gguf_offset.gguf", "past the end"},
      {"generate", "generate --gguf {F}/gguf_count.gguf", "tensor count"},
      {"generate", "generate --gguf {F}/gguf_tok.gguf", "only byte-level BPE"},
      {"generate", G + " --steps -1", "--steps"},
      {"generate", G + " --steps 1e400", "--steps"},
      {"generate", G + " --steps 100", "exceed the model's context"},
      {"generate", G + " --tokens 270", "outside the vocabulary"},
      {"generate", G + " --tokens -1", "--tokens"},
      {"generate", G + " --tokens 1 --prompt x", "either --tokens or --prompt"},
      {"generate", "generate " + CK + " --chat --prompt hi", "--chat needs a --gguf"},
      {"generate", G + " --steps 4 --kv nf9", "unknown codebook"},
      {"generate", G + " --steps 4 --kv nf4 --block 24", "does not divide"},
      {"generate", G + " --kv nf4 --block 0", "--block"},
      {"generate", G + " --type f64", "unknown element type"},
      {"generate", G + " --path sideways", "--path"},
      {"generate", G + " --prompt hi --dump-logits {RO}/l.json", "cannot create files"},
      {"generate", G + " --prompt hi --dump-logits {F}/tiny.gguf", "is an input"},
      {"generate", G + " --prompt hi --dump-logits {O}/nodir/l.json", "does not exist"},
  };
}
TEST(BadInput, Generate) { run_table(generate_cases()); }

// The fixture model is good: the same command lines without the bad part succeed (so each case
// above fails for its one bad input, not for a broken fixture).
TEST(BadInput, FixturesAreGood) {
  const BadInputEnv& e = env();
  const fs::path O = e.base / "good";
  fs::create_directories(O);
  for (const std::string& args :
       {"quantize --input " + (e.F / "in.safetensors").string() + " --output " + (O / "q.safetensors").string(),
        "dequantize --input " + (e.F / "q.safetensors").string() + " --output " + (O / "d.safetensors").string(),
        "project --model " + (e.F / "config.json").string() + " --hw-file " + (e.F / "hw.json").string() + " --gpu mygpu",
        "kvstats --checkpoint " + (e.F / "ck/model.bin").string() + " --blocks 8,16 --codebooks nf4",
        "eval --checkpoint " + (e.F / "ck/model.bin").string() + " --kv nf4 --block 8 --gen 4 --no-baselines",
        "eval --gguf " + (e.F / "tiny.gguf").string() + " --text " + (e.F / "text.txt").string() +
            " --kv nf4 --block 16 --gen 4 --no-baselines",
        "kvstats --gguf " + (e.F / "tiny.gguf").string() + " --blocks 8,16 --codebooks nf4",
        "generate --gguf " + (e.F / "tiny.gguf").string() + " --prompt hello --steps 4 --dump-logits " +
            (O / "l.json").string(),
        "eval --checkpoint " + (e.F / "ck/model.bin").string() +
            " --kv kivi2,kivi4 --kivi-group 4 --kivi-residual 8 --tensors k --gen 4 --no-baselines"}) {
    const Outcome o = run_nqkv(split_args(args), O, e.base / "err" / "good.txt");
    EXPECT_EQ(o.status, 0) << "nqkv " << args << "\n" << o.err;
  }
  fs::remove_all(O);
}

}  // namespace
