// Load an AOTInductor package built by aotgemm.aoti.compile and run it, with no Python.
//
//   aotgemm_aoti_example PACKAGE [--bundle PATH] [--m 1,16,300] [--repeat N] [--check-only]
//                                [--fake-gpu NAME:SMS:MAJOR:MINOR] [--cpu-kernels]
//
// 1. aotgemm_aoti_init: the same checks aotgemm.aoti.load runs (bundle present,
//    the one the package was built with, intact, built for this GPU), then the
//    kernel library is extracted and loaded. A refusal prints one line
//    "aotgemm: error: ..." and exits with status 2.
// 2. torch::inductor::AOTIModelPackageLoader loads the package.
// 3. For each M, run the model on a deterministic input (the one
//    aotgemm.aoti.testing.deterministic_input builds in Python) and report time and a checksum.
//
// Prints one JSON object on stdout; timings in milliseconds from the start of main.

#include <ATen/ATen.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "aotgemm_aoti.h"
#include "aotgemm_rule.h"

namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point kStart = Clock::now();

double ms_since_start() { return std::chrono::duration<double, std::milli>(Clock::now() - kStart).count(); }

[[noreturn]] void die(int code, const std::string& msg) {
  fprintf(stderr, "aotgemm: error: %s\n", msg.c_str());
  exit(code);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

struct InputSpec {
  std::string dtype;
  std::vector<int64_t> shape;  // -1: the dynamic M
};

at::ScalarType scalar_type(const std::string& name) {
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  if (name == "float32") return at::kFloat;
  die(1, "unsupported input dtype " + name);
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') { o += "\\n"; continue; }
    o += c;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PACKAGE [--bundle PATH] [--m 1,16,300] [--repeat N] [--check-only] "
                    "[--fake-gpu NAME:SMS:MAJOR:MINOR] [--cpu-kernels]\n", argv[0]);
    return 1;
  }
  std::string package = argv[1], bundle, ms_arg = "1", fake;
  int repeat = 1;
  bool check_only = false, cpu_kernels = false;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(1, a + " needs a value");
      return argv[++i];
    };
    if (a == "--bundle") bundle = next();
    else if (a == "--m") ms_arg = next();
    else if (a == "--repeat") repeat = std::max(1, atoi(next().c_str()));
    else if (a == "--check-only") check_only = true;
    else if (a == "--fake-gpu") fake = next();
    else if (a == "--cpu-kernels") cpu_kernels = true;
    else die(1, "unknown argument " + a);
  }

  // The package's description of itself: device and example inputs.
  std::vector<char> meta_buf(1 << 22);
  char err[4096] = {0};
  if (int rc = aotgemm_aoti_read_meta(package.c_str(), meta_buf.data(), meta_buf.size(), err, sizeof err))
    die(2, err);
  std::string device_name = "cpu";
  std::vector<InputSpec> inputs;
  for (const auto& line : split(meta_buf.data(), '\n')) {
    auto f = split(line, '\t');
    if (f.size() == 2 && f[0] == "device") device_name = f[1];
    if (f.size() == 4 && f[0] == "input") {
      InputSpec spec{f[2], {}};
      for (const auto& d : split(f[3], ',')) spec.shape.push_back(atoll(d.c_str()));
      inputs.push_back(spec);
    }
  }
  const bool cuda = device_name == "cuda";

  aotgemm_device fake_dev{};
  std::string fake_name;
  if (!fake.empty()) {
    auto f = split(fake, ':');
    if (f.size() != 4) die(1, "--fake-gpu wants NAME:SMS:MAJOR:MINOR");
    fake_name = f[0];
    fake_dev = aotgemm_device{fake_name.c_str(), atoi(f[1].c_str()), atoi(f[2].c_str()), atoi(f[3].c_str()), 0};
  }
  const int device_index = cuda || !fake.empty() ? 0 : -1;
  unsigned flags = aotgemm_aoti_default_flags() | (cpu_kernels ? AOTGEMM_FLAG_CPU_KERNELS : 0u);

  // 1. The checks and the kernel library, in libaotgemm_aoti (shared with Python).
  const double t_init0 = ms_since_start();
  int rc = check_only ? aotgemm_aoti_check(package.c_str(), bundle.empty() ? nullptr : bundle.c_str(), device_index,
                                           fake.empty() ? nullptr : &fake_dev, flags, err, sizeof err)
                      : aotgemm_aoti_init(package.c_str(), bundle.empty() ? nullptr : bundle.c_str(), device_index,
                                          fake.empty() ? nullptr : &fake_dev, nullptr, flags, err, sizeof err);
  if (rc != AOTGEMM_OK) die(2, err);
  if (err[0]) fprintf(stderr, "aotgemm: warning: %s\n", err);
  const double t_init1 = ms_since_start();
  if (check_only) {
    printf("{\"check\": \"ok\", \"package\": \"%s\"}\n", json_escape(package).c_str());
    return 0;
  }

  // 2. The package.
  torch::inductor::AOTIModelPackageLoader loader(package);
  const double t_load = ms_since_start();

  // 3. Runs.
  const at::Device dev = cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  std::ostringstream runs;
  double first_output = -1;
  bool first = true;
  for (const auto& m_str : split(ms_arg, ',')) {
    const int64_t M = atoll(m_str.c_str());
    std::vector<at::Tensor> args;
    for (const auto& spec : inputs) {
      std::vector<int64_t> shape = spec.shape;
      int64_t numel = 1;
      for (auto& d : shape) { if (d < 0) d = M; numel *= d; }
      // Deterministic input: sin(0.001 * i) in float32, cast (aotgemm.aoti.testing.deterministic_input).
      at::Tensor x = at::arange(numel, at::kFloat).mul_(0.001).sin_().reshape(shape);
      args.push_back(x.to(scalar_type(spec.dtype)).to(dev));
    }
    for (int r = 0; r < repeat; r++) {
      const double t0 = ms_since_start();
      std::vector<at::Tensor> out = loader.run(args);
      at::Tensor host = out.at(0).to(at::kCPU).to(at::kDouble);  // waits for the GPU
      const double t1 = ms_since_start();
      if (first_output < 0) first_output = t1;
      if (r == repeat - 1) {
        runs << (first ? "" : ", ") << "{\"m\": " << M << ", \"ms\": " << (t1 - t0)
             << ", \"sum\": " << host.sum().item<double>() << ", \"abs_sum\": " << host.abs().sum().item<double>()
             << ", \"shape\": [";
        for (int64_t d = 0; d < host.dim(); d++) runs << (d ? ", " : "") << host.size(d);
        runs << "]}";
        first = false;
      }
    }
  }
  char state[4096];
  aotgemm_aoti_describe(state, sizeof state);
  // Every counter: calls, misses, and one per outcome of the dispatch rule (aotgemm_rule.h).
  std::ostringstream counters;
  counters << "\"calls\": " << aotgemm_aoti_counter("calls") << ", \"misses\": " << aotgemm_aoti_counter("misses");
  for (int i = 0; i < AOTGEMM_REASON_COUNT; i++)
    counters << ", \"" << aotgemm_reason_counter[i] << "\": " << aotgemm_aoti_counter(aotgemm_reason_counter[i]);
  printf("{\"package\": \"%s\", \"device\": \"%s\", \"init_ms\": %.3f, \"load_ms\": %.3f, "
         "\"time_to_first_output_ms\": %.3f, \"runs\": [%s], \"counters\": {%s}, \"state\": %s}\n",
         json_escape(package).c_str(), device_name.c_str(), t_init1 - t_init0, t_load - t_init1, first_output,
         runs.str().c_str(), counters.str().c_str(), state);
  return 0;
}
