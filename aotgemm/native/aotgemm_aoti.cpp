// libaotgemm_aoti: the AOTInductor C shim for aotgemm's linear op, and the
// package checks both loaders (Python, C++) share. See aotgemm_aoti.h and
// docs/aoti.md.
//
// Built by aotgemm/aoti/native.py (g++, torch and tvm_ffi headers) or by
// examples/cpp/CMakeLists.txt. Links libtorch_cpu/libc10 (AOTI C shim, the
// .pt2 zip reader) and libtvm_ffi (loading the kernel library). CUDA pieces
// are looked up at run time (libtorch_cuda's shims, libcuda's driver API), so
// one source builds against CPU and CUDA torch alike. libzstd and libcrypto
// are opened with dlopen when present (libcrypto only speeds up SHA-256).

#include "aotgemm_aoti.h"

#include <caffe2/serialize/inline_container.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/inductor/aoti_torch/generated/c_shim_cpu.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/extra/c_env_api.h>
#include <tvm/ffi/extra/module.h>
#include <tvm/ffi/function.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

constexpr const char* kMetaRecord = "aotgemm/meta.aotgemm-meta";
constexpr const char* kBundleRecord = "aotgemm/bundle.agb";
constexpr const char* kMetaMagic = "aotgemm-aoti-meta";
constexpr int kMetaVersion = 1;
constexpr size_t kHeaderSize = 56;
constexpr uint64_t kMaxIndex = 16ull << 20;

// ---------------------------------------------------------------- errors ---
std::mutex g_err_mu;
std::string g_last_error;

struct Failure {
  int code;
  std::string msg;
};

Failure fail(int code, const std::string& msg) { return Failure{code, msg}; }

void set_last_error(const std::string& msg) {
  std::lock_guard<std::mutex> lk(g_err_mu);
  g_last_error = msg;
}

int report(const Failure& f, char* err, size_t err_len) {
  set_last_error(f.msg);
  if (err && err_len) {
    size_t n = std::min(err_len - 1, f.msg.size());
    memcpy(err, f.msg.data(), n);
    err[n] = 0;
  }
  return f.code;
}

std::string fmt(const char* f, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// --------------------------------------------------------------- sha-256 ---
struct Sha256 {
  uint32_t h[8];
  uint64_t len = 0;
  uint8_t buf[64];
  size_t fill = 0;
  static constexpr uint32_t K[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  Sha256() {
    static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(h, init, sizeof h);
  }
  static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void block(const uint8_t* p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  void update(const uint8_t* p, size_t n) {
    len += n;
    if (fill) {
      size_t take = std::min(n, 64 - fill);
      memcpy(buf + fill, p, take);
      fill += take; p += take; n -= take;
      if (fill == 64) { block(buf); fill = 0; }
    }
    while (n >= 64) { block(p); p += 64; n -= 64; }
    if (n) { memcpy(buf, p, n); fill = n; }
  }
  void final(uint8_t out[32]) {
    uint64_t bits = len * 8;
    uint8_t pad = 0x80;
    update(&pad, 1);
    uint8_t z = 0;
    while (fill != 56) update(&z, 1);
    uint8_t lb[8];
    for (int i = 0; i < 8; i++) lb[i] = (uint8_t)(bits >> (56 - 8 * i));
    update(lb, 8);
    for (int i = 0; i < 8; i++) {
      out[4 * i] = h[i] >> 24; out[4 * i + 1] = h[i] >> 16; out[4 * i + 2] = h[i] >> 8; out[4 * i + 3] = h[i];
    }
  }
};
constexpr uint32_t Sha256::K[64];

using OsslSha256 = unsigned char* (*)(const unsigned char*, size_t, unsigned char*);

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; i++) { s[2 * i] = d[p[i] >> 4]; s[2 * i + 1] = d[p[i] & 15]; }
  return s;
}

std::string sha256_hex(const void* data, size_t n) {
  static OsslSha256 ossl = [] {
    for (const char* name : {"libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"}) {
      if (void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
        if (void* f = dlsym(h, "SHA256")) return reinterpret_cast<OsslSha256>(f);
      }
    }
    return static_cast<OsslSha256>(nullptr);
  }();
  uint8_t md[32];
  if (ossl) {
    ossl(static_cast<const unsigned char*>(data), n, md);
  } else {
    Sha256 s;
    s.update(static_cast<const uint8_t*>(data), n);
    s.final(md);
  }
  return hex(md, 32);
}

// ------------------------------------------------------------------ zstd ---
struct Zstd {
  unsigned long long (*frame_size)(const void*, size_t) = nullptr;
  size_t (*decompress)(void*, size_t, const void*, size_t) = nullptr;
  unsigned (*is_error)(size_t) = nullptr;
  const char* (*error_name)(size_t) = nullptr;
  bool ok() const { return frame_size && decompress && is_error && error_name; }
};

const Zstd& zstd() {
  static Zstd z = [] {
    Zstd r;
    for (const char* name : {"libzstd.so.1", "libzstd.so"}) {
      if (void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
        r.frame_size = reinterpret_cast<decltype(r.frame_size)>(dlsym(h, "ZSTD_getFrameContentSize"));
        r.decompress = reinterpret_cast<decltype(r.decompress)>(dlsym(h, "ZSTD_decompress"));
        r.is_error = reinterpret_cast<decltype(r.is_error)>(dlsym(h, "ZSTD_isError"));
        r.error_name = reinterpret_cast<decltype(r.error_name)>(dlsym(h, "ZSTD_getErrorName"));
        if (r.ok()) break;
      }
    }
    return r;
  }();
  return z;
}

// ------------------------------------------------------- CUDA driver API ---
struct Driver {
  int (*init)(unsigned) = nullptr;
  int (*device_get)(int*, int) = nullptr;
  int (*get_name)(char*, int, int) = nullptr;
  int (*get_attr)(int*, int, int) = nullptr;
  int (*driver_version)(int*) = nullptr;
  int (*device_count)(int*) = nullptr;
  bool ok() const { return init && device_get && get_name && get_attr && driver_version && device_count; }
};

const Driver& driver() {
  static Driver d = [] {
    Driver r;
    void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) return r;
    r.init = reinterpret_cast<decltype(r.init)>(dlsym(h, "cuInit"));
    r.device_get = reinterpret_cast<decltype(r.device_get)>(dlsym(h, "cuDeviceGet"));
    r.get_name = reinterpret_cast<decltype(r.get_name)>(dlsym(h, "cuDeviceGetName"));
    r.get_attr = reinterpret_cast<decltype(r.get_attr)>(dlsym(h, "cuDeviceGetAttribute"));
    r.driver_version = reinterpret_cast<decltype(r.driver_version)>(dlsym(h, "cuDriverGetVersion"));
    r.device_count = reinterpret_cast<decltype(r.device_count)>(dlsym(h, "cuDeviceGetCount"));
    return r;
  }();
  return d;
}

struct DeviceInfo {
  std::string name;
  int sm_count = 0, cc_major = 0, cc_minor = 0, driver_version = 0;
  int index = -1;
};

bool query_device(int index, DeviceInfo* out, std::string* why) {
  const Driver& d = driver();
  if (!d.ok()) { *why = "libcuda.so.1 (the NVIDIA driver) cannot be loaded"; return false; }
  int rc = d.init(0);
  if (rc != 0) { *why = fmt("cuInit failed with CUDA error %d (no usable GPU?)", rc); return false; }
  int count = 0;
  d.device_count(&count);
  if (index >= count) { *why = fmt("CUDA device %d does not exist (%d visible)", index, count); return false; }
  int dev = 0;
  if ((rc = d.device_get(&dev, index)) != 0) { *why = fmt("cuDeviceGet(%d) failed with CUDA error %d", index, rc); return false; }
  char name[256] = {0};
  d.get_name(name, sizeof name - 1, dev);
  out->name = name;
  d.get_attr(&out->sm_count, 16 /* CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT */, dev);
  d.get_attr(&out->cc_major, 75 /* COMPUTE_CAPABILITY_MAJOR */, dev);
  d.get_attr(&out->cc_minor, 76 /* COMPUTE_CAPABILITY_MINOR */, dev);
  d.driver_version(&out->driver_version);
  out->index = index;
  return true;
}

// ------------------------------------------------------------- the meta ---
// A flat, tab-separated description of the bundle, derived from its index by
// aotgemm.aoti.compile (aotgemm/aoti/meta.py writes it; the grammar is there).
struct MetaKernel {
  std::string symbol, dtype;
  int64_t alignment = 1;
};
struct MetaEntry {
  std::string dtype, kernel;
  int64_t n = 0, k = 0, m_bucket = 0;
};
struct MetaTarget {
  std::string gpu, arch;
  int sm_count = 0, cc_major = 0, cc_minor = 0;
  std::vector<std::string> device_names;
  std::map<std::string, std::string> env;
  std::string lib_name, lib_sha256, lib_content_sha256;
  uint64_t lib_offset = 0, lib_stored = 0, lib_size = 0;  // offset: from the start of the bundle file
  std::vector<MetaKernel> kernels;
  std::vector<MetaEntry> dispatch;
};
struct Meta {
  std::string bundle_name, bundle_sha256, index_sha256, device, text;
  uint64_t bundle_size = 0, data_offset = 0;
  std::vector<int64_t> m_buckets;
  std::vector<MetaTarget> targets;
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = line.find('\t', start);
    out.push_back(line.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

bool to_i64(const std::string& s, int64_t* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long x = strtoll(s.c_str(), &end, 10);
  if (errno || *end) return false;
  *v = x;
  return true;
}

bool parse_meta(const std::string& text, Meta* m, std::string* why) {
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  MetaTarget* t = nullptr;
  bool header = false;
  auto bad = [&](const std::string& what) {
    *why = fmt("line %d: %s", lineno, what.c_str());
    return false;
  };
  while (std::getline(in, line)) {
    lineno++;
    if (line.empty()) continue;
    auto f = split_tabs(line);
    const std::string& key = f[0];
    int64_t a = 0, b = 0, c = 0, d = 0;
    if (!header) {
      if (key != kMetaMagic || f.size() != 2 || !to_i64(f[1], &a)) return bad("not an aotgemm meta file");
      if (a != kMetaVersion) return bad(fmt("meta version %lld; this library reads %d (rebuild the package "
                                            "or the native library)", (long long)a, kMetaVersion));
      header = true;
      continue;
    }
    if (key == "bundle" && f.size() == 6 && to_i64(f[2], &a) && to_i64(f[5], &b)) {
      m->bundle_name = f[1]; m->bundle_size = a; m->bundle_sha256 = f[3]; m->index_sha256 = f[4]; m->data_offset = b;
    } else if (key == "device" && f.size() == 2) {
      m->device = f[1];
    } else if (key == "m_buckets") {
      for (size_t i = 1; i < f.size(); i++) {
        if (!to_i64(f[i], &a)) return bad("bad bucket");
        m->m_buckets.push_back(a);
      }
    } else if (key == "input" || key == "routed" || key == "generator" || key == "model") {
      // informational (examples/cpp reads "input"); not needed here
    } else if (key == "target" && f.size() == 6 && to_i64(f[3], &a) && to_i64(f[4], &b) && to_i64(f[5], &c)) {
      m->targets.emplace_back();
      t = &m->targets.back();
      t->gpu = f[1]; t->arch = f[2]; t->sm_count = (int)a; t->cc_major = (int)b; t->cc_minor = (int)c;
    } else if (!t) {
      return bad("'" + key + "' outside a target, or malformed");
    } else if (key == "names") {
      t->device_names.assign(f.begin() + 1, f.end());
    } else if (key == "env" && f.size() == 3) {
      t->env[f[1]] = f[2];
    } else if (key == "library" && f.size() == 7 && to_i64(f[2], &a) && to_i64(f[3], &b) && to_i64(f[4], &c)) {
      t->lib_name = f[1]; t->lib_offset = a; t->lib_stored = b; t->lib_size = c; t->lib_sha256 = f[5];
      t->lib_content_sha256 = f[6];
    } else if (key == "kernel" && f.size() == 4 && to_i64(f[3], &a)) {
      t->kernels.push_back(MetaKernel{f[1], f[2], a});
    } else if (key == "dispatch" && f.size() == 6 && to_i64(f[2], &a) && to_i64(f[3], &b) && to_i64(f[4], &c)) {
      t->dispatch.push_back(MetaEntry{f[1], f[5], a, b, c});
    } else if (key == "end") {
      t = nullptr;
    } else {
      return bad("unknown or malformed line '" + key + "'");
    }
    (void)d;
  }
  if (!header) return bad("empty meta");
  if (m->bundle_sha256.size() != 64 || m->index_sha256.size() != 64) return bad("missing bundle line");
  if (m->m_buckets.empty()) return bad("missing m_buckets");
  m->text = text;
  return true;
}

// ---------------------------------------------------------- the package ---
struct BundleSource {
  std::string path;   // the file holding the bundle bytes
  uint64_t base = 0;  // where the bundle starts in it
  uint64_t size = 0;
  bool embedded = false;
};

bool pread_all(const std::string& path, uint64_t off, size_t n, std::string* out, std::string* why) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) { *why = fmt("%s: %s", path.c_str(), strerror(errno)); return false; }
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, &(*out)[got], n - got, (off_t)(off + got));
    if (r <= 0) { close(fd); *why = fmt("%s: short read at offset %llu", path.c_str(), (unsigned long long)(off + got)); return false; }
    got += (size_t)r;
  }
  close(fd);
  return true;
}

struct Package {
  Meta meta;
  bool has_embedded = false;
  uint64_t embedded_offset = 0, embedded_size = 0;
};

std::string short_sha(const std::string& s) { return s.substr(0, 12); }

bool read_package(const std::string& path, Package* pkg, Failure* f) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (!reader.hasRecord(kMetaRecord)) {
      *f = fail(AOTGEMM_ERR_PACKAGE, fmt("%s: not a package made by aotgemm.aoti.compile (it has no %s); "
                                         "recompile it with aotgemm.aoti.compile", path.c_str(), kMetaRecord));
      return false;
    }
    at::DataPtr data;
    size_t n = 0;
    std::tie(data, n) = reader.getRecord(kMetaRecord);
    std::string text(static_cast<const char*>(data.get()), n);
    std::string why;
    if (!parse_meta(text, &pkg->meta, &why)) {
      *f = fail(AOTGEMM_ERR_PACKAGE, fmt("%s: %s is malformed: %s", path.c_str(), kMetaRecord, why.c_str()));
      return false;
    }
    if (reader.hasRecord(kBundleRecord)) {
      pkg->has_embedded = true;
      pkg->embedded_size = reader.getRecordSize(kBundleRecord);
      pkg->embedded_offset = reader.getRecordOffset(kBundleRecord);
    }
  } catch (const std::exception& e) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      *f = fail(AOTGEMM_ERR_PACKAGE, fmt("%s: no such package file", path.c_str()));
    } else {
      std::string what = e.what();
      if (what.size() > 300) what = what.substr(0, 300) + "...";
      *f = fail(AOTGEMM_ERR_PACKAGE, fmt("%s: cannot read the package (%s)", path.c_str(), what.c_str()));
    }
    return false;
  }
  return true;
}

std::string bundle_desc(const Meta& m) {
  return fmt("'%s' (sha256 %s)", m.bundle_name.c_str(), short_sha(m.bundle_sha256).c_str());
}

// The bundle's identity is its index: the index lists every blob's SHA-256,
// so a matching index checksum plus a matching blob checksum proves the bytes
// we use are the ones the package was built with.
bool check_bundle_header(const Meta& m, const BundleSource& src, Failure* f) {
  const std::string where = src.embedded ? "the bundle inside the package" : "bundle " + src.path;
  if (src.size != m.bundle_size) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT,
              fmt("%s is %llu bytes; the package was built with %s of %llu bytes: it is truncated, corrupted, "
                  "or a different bundle", where.c_str(), (unsigned long long)src.size, bundle_desc(m).c_str(),
                  (unsigned long long)m.bundle_size));
    return false;
  }
  std::string head, why;
  if (!pread_all(src.path, src.base, kHeaderSize, &head, &why)) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, where + ": " + why);
    return false;
  }
  if (memcmp(head.data(), "\x89" "AOTGEMM", 8) != 0) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, where + ": not an aotgemm bundle (bad magic)");
    return false;
  }
  uint32_t version;
  uint64_t index_len;
  memcpy(&version, head.data() + 8, 4);
  memcpy(&index_len, head.data() + 16, 8);
  if (version != 1) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("%s: bundle format version %u; this library reads version 1",
                                              where.c_str(), version));
    return false;
  }
  std::string header_sha = hex(reinterpret_cast<const uint8_t*>(head.data() + 24), 32);
  if (header_sha != m.index_sha256 || index_len > kMaxIndex || kHeaderSize + index_len != m.data_offset) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT,
              fmt("%s is not the bundle this package was built with: its index is sha256 %s, the package "
                  "expects %s (index sha256 %s); use the bundle the package was compiled against, or "
                  "recompile the package", where.c_str(), short_sha(header_sha).c_str(), bundle_desc(m).c_str(),
                  short_sha(m.index_sha256).c_str()));
    return false;
  }
  std::string index;
  if (!pread_all(src.path, src.base + kHeaderSize, index_len, &index, &why)) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, where + ": " + why);
    return false;
  }
  if (sha256_hex(index.data(), index.size()) != m.index_sha256) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("%s: index checksum does not match (the file is corrupted; "
                                              "rebuild or re-copy it)", where.c_str()));
    return false;
  }
  return true;
}

bool read_blob(const MetaTarget& t, const BundleSource& src, std::string* stored, Failure* f) {
  const std::string where = src.embedded ? "the bundle inside the package" : "bundle " + src.path;
  std::string why;
  if (t.lib_offset + t.lib_stored > src.size || !pread_all(src.path, src.base + t.lib_offset, t.lib_stored, stored, &why)) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("%s: blob '%s' lies outside the file (truncated?) %s", where.c_str(),
                                              t.lib_name.c_str(), why.c_str()));
    return false;
  }
  if (sha256_hex(stored->data(), stored->size()) != t.lib_sha256) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("%s: blob '%s' (the %s kernel library): SHA-256 of the stored bytes "
                                              "does not match the index (the file is corrupted: rebuild or re-copy it)",
                                              where.c_str(), t.lib_name.c_str(), t.gpu.c_str()));
    return false;
  }
  return true;
}

bool identify(const MetaTarget& t, const DeviceInfo& d) {
  if (t.cc_major != d.cc_major || t.cc_minor != d.cc_minor || t.sm_count != d.sm_count) return false;
  for (const auto& s : t.device_names)
    if (!s.empty() && d.name.find(s) != std::string::npos) return true;
  return false;
}

struct CheckResult {
  Package pkg;
  BundleSource src;
  int target = -1;      // index into meta.targets, -1: none (CPU, or non-strict mismatch)
  std::string warning;  // non-strict mismatch
  DeviceInfo device;
  std::string lib_stored;  // the chosen target's stored library bytes (verified)
};

bool do_check(const char* package_path, const char* bundle_path, int device_index, const aotgemm_device* dev,
              unsigned flags, CheckResult* r, Failure* f) {
  if (!package_path || !*package_path) {
    *f = fail(AOTGEMM_ERR_STATE, "no package path given");
    return false;
  }
  if (!read_package(package_path, &r->pkg, f)) return false;
  const Meta& m = r->pkg.meta;
  // 1. the bundle is there
  if (bundle_path && *bundle_path) {
    struct stat st;
    if (stat(bundle_path, &st) != 0 || !S_ISREG(st.st_mode)) {
      *f = fail(AOTGEMM_ERR_BUNDLE_MISSING, fmt("bundle %s: no such file (the package %s was built for bundle %s)",
                                                bundle_path, package_path, bundle_desc(m).c_str()));
      return false;
    }
    r->src = BundleSource{bundle_path, 0, (uint64_t)st.st_size, false};
  } else if (r->pkg.has_embedded) {
    r->src = BundleSource{package_path, r->pkg.embedded_offset, r->pkg.embedded_size, true};
  } else {
    *f = fail(AOTGEMM_ERR_BUNDLE_MISSING,
              fmt("the package %s was built for bundle %s, which is not inside it, and no bundle was given: pass "
                  "bundle=PATH to aotgemm.aoti.load (C++: --bundle PATH), or recompile with embed_bundle=True",
                  package_path, bundle_desc(m).c_str()));
    return false;
  }
  // 2. it is the bundle the package was built with, and its index is intact
  if (!check_bundle_header(m, r->src, f)) return false;
  // 3. a target for this GPU
  bool want_gpu = dev != nullptr || device_index >= 0;
  if (!want_gpu) {
    // No GPU to match (CPU package): still prove every library blob intact.
    for (const auto& t : m.targets) {
      std::string stored;
      if (!read_blob(t, r->src, &stored, f)) return false;
    }
    return true;
  }
  if (dev) {
    r->device.name = dev->name ? dev->name : "";
    r->device.sm_count = dev->sm_count;
    r->device.cc_major = dev->cc_major;
    r->device.cc_minor = dev->cc_minor;
    r->device.driver_version = dev->driver_version;
    r->device.index = device_index < 0 ? 0 : device_index;
  } else {
    std::string why;
    if (!query_device(device_index, &r->device, &why)) {
      *f = fail(AOTGEMM_ERR_NO_GPU, fmt("the package %s runs on CUDA, but %s", package_path, why.c_str()));
      return false;
    }
  }
  const DeviceInfo& d = r->device;
  std::string have;
  for (size_t i = 0; i < m.targets.size(); i++) {
    const auto& t = m.targets[i];
    have += (i ? ", " : "") + fmt("%s (%s, %d SMs)", t.gpu.c_str(), t.arch.c_str(), t.sm_count);
    if (r->target < 0 && identify(t, d)) r->target = (int)i;
  }
  bool nonstrict = flags & AOTGEMM_FLAG_NONSTRICT;
  if (r->target < 0) {
    std::string msg = fmt("bundle %s has kernels for %s; GPU %d here is '%s' (%d SMs, compute capability %d.%d), "
                          "which none of them was built for. Build a bundle for this GPU (aotgemm build --gpu "
                          "<model>) and recompile the package, or set AOTGEMM_STRICT=0 to run every GEMM on cuBLAS",
                          bundle_desc(m).c_str(), have.empty() ? "no GPU" : have.c_str(), d.index, d.name.c_str(),
                          d.sm_count, d.cc_major, d.cc_minor);
    if (!nonstrict) {
      *f = fail(AOTGEMM_ERR_WRONG_GPU, msg);
      return false;
    }
    r->warning = msg;
    return true;
  }
  const MetaTarget& t = m.targets[r->target];
  auto it = t.env.find("cuda_driver_min");
  int64_t need = 0;
  if (it != t.env.end() && to_i64(it->second, &need) && d.driver_version > 0 && d.driver_version < need) {
    std::string msg = fmt("the %s kernel library needs CUDA driver %lld or newer; this machine has %d. Update the "
                          "NVIDIA driver, or set AOTGEMM_STRICT=0 to run every GEMM on cuBLAS",
                          t.gpu.c_str(), (long long)need, d.driver_version);
    if (!nonstrict) {
      *f = fail(AOTGEMM_ERR_DRIVER, msg);
      return false;
    }
    r->warning = msg;
    r->target = -1;
    return true;
  }
  // 4. the library we will load is intact
  if (!read_blob(t, r->src, &r->lib_stored, f)) return false;
  return true;
}

// ------------------------------------------------------------ the state ---
enum DType { kBF16 = 0, kF16 = 1, kOther = 2 };

DType dtype_from_name(const std::string& s) {
  if (s == "bfloat16") return kBF16;
  if (s == "float16") return kF16;
  return kOther;
}

struct Kernel {
  std::string symbol;
  DType dtype;
  int64_t alignment;
  tvm::ffi::Function fn;
};

struct Key {
  int dtype;
  int64_t n, k, bucket;
  bool operator<(const Key& o) const { return std::tie(dtype, n, k, bucket) < std::tie(o.dtype, o.n, o.k, o.bucket); }
};

struct State {
  std::string package, bundle_name, bundle_sha256, index_sha256, library_path, target_gpu, warning;
  std::vector<int64_t> buckets;
  std::vector<Kernel> kernels;
  std::map<Key, int> dispatch;  // -> kernel index, or -1 for cuBLAS
  std::vector<std::string> lookup_names;  // symbol per kernel index, for aotgemm_aoti_lookup
  int device_index = -1;
  bool cpu_kernels = false;
  tvm::ffi::Optional<tvm::ffi::Module> module;
};

std::mutex g_init_mu;
std::atomic<State*> g_state{nullptr};

std::atomic<int> g_stream_as_ptr{0};

struct Counters {
  std::atomic<int64_t> calls{0}, hits{0}, misses{0}, no_entry{0}, cublas_entry{0}, unsupported{0}, no_kernels{0};
} g_counters;

int64_t bucket_for(const std::vector<int64_t>& buckets, int64_t m) {
  for (int64_t b : buckets)
    if (m <= b) return b;
  return buckets.back();
}

std::string cache_root(const char* given) {
  if (given && *given) return given;
  if (const char* v = getenv("AOTGEMM_CACHE_DIR"); v && *v) return v;
  if (const char* v = getenv("XDG_CACHE_HOME"); v && *v) return std::string(v) + "/aotgemm";
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/aotgemm";
}

bool mkdirs(const std::string& dir) {
  if (dir.empty()) return true;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  size_t p = dir.find_last_of('/');
  if (p != std::string::npos && p > 0 && !mkdirs(dir.substr(0, p))) return false;
  return mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST;
}

bool read_file(const std::string& path, std::string* out) {
  FILE* fp = fopen(path.c_str(), "rb");
  if (!fp) return false;
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, fp)) > 0) s.append(buf, n);
  fclose(fp);
  *out = std::move(s);
  return true;
}

// Decompress and verify the library, write it to a content-addressed path
// (temporary file, fsync, rename: readers never see part of one).
bool extract_library(const MetaTarget& t, const std::string& stored, const std::string& root, std::string* path,
                     Failure* f) {
  std::string name = t.lib_name;
  if (name.size() < 3 || name.compare(name.size() - 3, 3, ".so") != 0) name += ".so";
  std::string dir = root + "/aoti-lib/" + t.lib_content_sha256;
  *path = dir + "/" + name;
  std::string existing;
  if (read_file(*path, &existing) && existing.size() == t.lib_size &&
      sha256_hex(existing.data(), existing.size()) == t.lib_content_sha256)
    return true;
  const Zstd& z = zstd();
  if (!z.ok()) {
    *f = fail(AOTGEMM_ERR_LIBRARY, "cannot decompress the kernel library: libzstd.so.1 is not installed "
                                   "(apt-get install libzstd1)");
    return false;
  }
  unsigned long long declared = z.frame_size(stored.data(), stored.size());
  if (declared != t.lib_size) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("blob '%s': zstd frame declares %llu bytes, the index %llu",
                                              t.lib_name.c_str(), declared, (unsigned long long)t.lib_size));
    return false;
  }
  std::string content(t.lib_size, '\0');
  size_t got = z.decompress(&content[0], content.size(), stored.data(), stored.size());
  if (z.is_error(got) || got != t.lib_size || sha256_hex(content.data(), content.size()) != t.lib_content_sha256) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("blob '%s' does not decompress to the content the index records%s%s",
                                              t.lib_name.c_str(), z.is_error(got) ? ": " : "",
                                              z.is_error(got) ? z.error_name(got) : ""));
    return false;
  }
  if (!mkdirs(dir)) {
    *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot create %s: %s", dir.c_str(), strerror(errno)));
    return false;
  }
  std::string tmp = dir + "/." + name + fmt(".%d.tmp", (int)getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) {
    *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot write %s: %s", tmp.c_str(), strerror(errno)));
    return false;
  }
  size_t off = 0;
  while (off < content.size()) {
    ssize_t w = write(fd, content.data() + off, content.size() - off);
    if (w <= 0) {
      close(fd);
      unlink(tmp.c_str());
      *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot write %s: %s", tmp.c_str(), strerror(errno)));
      return false;
    }
    off += (size_t)w;
  }
  fsync(fd);
  close(fd);
  if (rename(tmp.c_str(), path->c_str()) != 0) {
    unlink(tmp.c_str());
    *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot rename into %s: %s", path->c_str(), strerror(errno)));
    return false;
  }
  return true;
}

bool load_library(const MetaTarget& t, const std::string& path, State* s, Failure* f) {
  auto mode = t.env.find("link_mode");
  if (mode != t.env.end() && mode->second == "dsl-runtime") {
    const char* lib = getenv("AOTGEMM_DSL_RUNTIME_LIB");
    const char* name = lib && *lib ? lib : "libcute_dsl_runtime.so";
    if (!dlopen(name, RTLD_NOW | RTLD_GLOBAL)) {
      *f = fail(AOTGEMM_ERR_LIBRARY, fmt("the %s kernel library was linked in 'dsl-runtime' mode and needs %s, which "
                                         "cannot be loaded (%s); set AOTGEMM_DSL_RUNTIME_LIB to its path",
                                         t.gpu.c_str(), name, dlerror()));
      return false;
    }
  }
  try {
    tvm::ffi::Module mod = tvm::ffi::Module::LoadFromFile(path);
    std::map<std::string, int> index_of;
    for (const auto& k : t.kernels) {
      bool used = false;
      for (const auto& e : t.dispatch) used = used || e.kernel == k.symbol;
      if (!used) continue;
      tvm::ffi::Optional<tvm::ffi::Function> fn = mod->GetFunction(k.symbol);
      if (!fn.has_value()) {
        *f = fail(AOTGEMM_ERR_LIBRARY, fmt("the %s kernel library %s does not export __tvm_ffi_%s (the bundle is "
                                           "inconsistent: rebuild it)", t.gpu.c_str(), path.c_str(), k.symbol.c_str()));
        return false;
      }
      index_of[k.symbol] = (int)s->kernels.size();
      s->kernels.push_back(Kernel{k.symbol, dtype_from_name(k.dtype), k.alignment, fn.value()});
      s->lookup_names.push_back(k.symbol);
    }
    for (const auto& e : t.dispatch) {
      int idx = -1;
      if (e.kernel != "cublas") idx = index_of.at(e.kernel);
      s->dispatch[Key{dtype_from_name(e.dtype), e.n, e.k, e.m_bucket}] = idx;
    }
    s->module = mod;
  } catch (const std::exception& e) {
    *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot load the %s kernel library %s: %s", t.gpu.c_str(), path.c_str(), e.what()));
    return false;
  }
  return true;
}

// ------------------------------------------------------------- the shim ---
using MmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle);
using AddmmOut = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, AtenTensorHandle, double, double);
using AddTensor = AOTITorchError (*)(AtenTensorHandle, AtenTensorHandle, double, AtenTensorHandle*);
using GetStream = AOTITorchError (*)(int32_t, void**);

struct DeviceOps {
  MmOut mm = nullptr;
  AddmmOut addmm = nullptr;
  AddTensor add = nullptr;
  GetStream stream = nullptr;
};

void* cuda_sym(const char* name) {
  static void* handle = [] {
    void* h = dlopen("libtorch_cuda.so", RTLD_NOLOAD | RTLD_LAZY);
    return h ? h : RTLD_DEFAULT;
  }();
  void* p = dlsym(handle, name);
  return p ? p : dlsym(RTLD_DEFAULT, name);
}

const DeviceOps& cuda_ops() {
  static DeviceOps ops = [] {
    DeviceOps o;
    o.mm = reinterpret_cast<MmOut>(cuda_sym("aoti_torch_cuda_mm_out"));
    o.addmm = reinterpret_cast<AddmmOut>(cuda_sym("aoti_torch_cuda_addmm_out"));
    o.add = reinterpret_cast<AddTensor>(cuda_sym("aoti_torch_cuda_add_Tensor"));
    o.stream = reinterpret_cast<GetStream>(cuda_sym("aoti_torch_get_current_cuda_stream"));
    return o;
  }();
  return ops;
}

const DeviceOps& cpu_ops() {
  static DeviceOps ops = [] {
    DeviceOps o;
    o.mm = &aoti_torch_cpu_mm_out;
    o.addmm = &aoti_torch_cpu_addmm_out;
    o.add = &aoti_torch_cpu_add_Tensor;
    return o;
  }();
  return ops;
}

struct Handle {  // owns an AtenTensorHandle
  AtenTensorHandle h = nullptr;
  ~Handle() { if (h) aoti_torch_delete_tensor_object(h); }
  AtenTensorHandle release() { AtenTensorHandle r = h; h = nullptr; return r; }
};

#define SHIM_CHECK(expr, what)                                                            \
  do {                                                                                    \
    if ((expr) != AOTI_TORCH_SUCCESS) return shim_error(std::string("aotgemm: ") + what); \
  } while (0)

AOTITorchError shim_error(const std::string& msg) {
  set_last_error(msg);
  fprintf(stderr, "%s\n", msg.c_str());
  return AOTI_TORCH_FAILURE;
}

DLDataType dl_dtype(DType d) {
  DLDataType t;
  t.code = d == kBF16 ? kDLBfloat : kDLFloat;
  t.bits = 16;
  t.lanes = 1;
  return t;
}

AOTITorchError linear(bool cuda, AtenTensorHandle x, AtenTensorHandle w, AtenTensorHandle* bias, AtenTensorHandle* ret0) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s)
    return shim_error("aotgemm: aoti_torch_*_aotgemm_linear was called before the aotgemm AOTI runtime was "
                      "initialised: load the package with aotgemm.aoti.load(path) (Python) or call "
                      "aotgemm_aoti_init(path, ...) before running it (C++; see examples/cpp)");
  g_counters.calls++;
  const DeviceOps& ops = cuda ? cuda_ops() : cpu_ops();
  if (!ops.mm || !ops.addmm || !ops.add || (cuda && !ops.stream))
    return shim_error("aotgemm: the CUDA C shims of libtorch_cuda (aoti_torch_cuda_mm_out, ...) were not found");

  int64_t xdim = 0, wdim = 0;
  SHIM_CHECK(aoti_torch_get_dim(x, &xdim), "get_dim");
  SHIM_CHECK(aoti_torch_get_dim(w, &wdim), "get_dim");
  if (xdim < 1 || wdim != 2) return shim_error(fmt("aotgemm: linear needs x of rank >= 1 and a 2-D weight, got %lld and %lld",
                                                   (long long)xdim, (long long)wdim));
  int64_t *xs, *xst, *ws, *wst;
  SHIM_CHECK(aoti_torch_get_sizes(x, &xs), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(x, &xst), "get_strides");
  SHIM_CHECK(aoti_torch_get_sizes(w, &ws), "get_sizes");
  SHIM_CHECK(aoti_torch_get_strides(w, &wst), "get_strides");
  const int64_t N = ws[0], K = ws[1];
  if (xs[xdim - 1] != K) return shim_error(fmt("aotgemm: linear: x has %lld features, the weight %lld",
                                               (long long)xs[xdim - 1], (long long)K));
  int64_t M = 1;
  for (int64_t i = 0; i + 1 < xdim; i++) M *= xs[i];
  int32_t dtype, wdtype, dev_type, dev_index;
  SHIM_CHECK(aoti_torch_get_dtype(x, &dtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_dtype(w, &wdtype), "get_dtype");
  SHIM_CHECK(aoti_torch_get_device_type(x, &dev_type), "get_device_type");
  SHIM_CHECK(aoti_torch_get_device_index(x, &dev_index), "get_device_index");

  // out: x's leading dims + [N], contiguous
  std::vector<int64_t> osz(xs, xs + xdim), ost(xdim);
  osz[xdim - 1] = N;
  int64_t acc = 1;
  for (int64_t i = xdim - 1; i >= 0; i--) { ost[i] = acc; acc *= std::max<int64_t>(osz[i], 1); }
  Handle out;
  SHIM_CHECK(aoti_torch_empty_strided(xdim, osz.data(), ost.data(), dtype, dev_type, dev_index, &out.h), "empty_strided");

  // x as [M, K] rows: collapsible leading dims, unit stride along K; else a contiguous copy
  Handle xcopy;
  AtenTensorHandle xv = x;
  bool collapsible = K <= 1 || xst[xdim - 1] == 1;
  for (int64_t i = 0; i + 2 < xdim && collapsible; i++)
    collapsible = xs[i] <= 1 || xst[i] == xst[i + 1] * xs[i + 1];
  if (!collapsible) {
    std::vector<int64_t> cst(xdim);
    int64_t a = 1;
    for (int64_t i = xdim - 1; i >= 0; i--) { cst[i] = a; a *= std::max<int64_t>(xs[i], 1); }
    SHIM_CHECK(aoti_torch_empty_strided(xdim, xs, cst.data(), dtype, dev_type, dev_index, &xcopy.h), "empty_strided");
    SHIM_CHECK(aoti_torch_copy_(xcopy.h, x, 0), "copy_");
    xv = xcopy.h;
    SHIM_CHECK(aoti_torch_get_strides(xv, &xst), "get_strides");
  }
  const int64_t x_row = xdim >= 2 ? xst[xdim - 2] : K;
  int64_t x_off = 0, w_off = 0;
  SHIM_CHECK(aoti_torch_get_storage_offset(xv, &x_off), "get_storage_offset");
  SHIM_CHECK(aoti_torch_get_storage_offset(w, &w_off), "get_storage_offset");

  // ---- dispatch: the same rule as the Python runtime (docs/bundle-format.md)
  const DType dt = dtype == aoti_torch_dtype_bfloat16() ? kBF16 : dtype == aoti_torch_dtype_float16() ? kF16 : kOther;
  const bool kernels_here = !s->kernels.empty() && (cuda ? dev_index == s->device_index : s->cpu_kernels);
  const Kernel* kern = nullptr;
  if (!kernels_here) {
    g_counters.no_kernels++;
  } else if (dt == kOther || wdtype != dtype || M == 0 || N == 0 || K == 0) {
    g_counters.unsupported++;
  } else {
    auto it = s->dispatch.find(Key{dt, N, K, bucket_for(s->buckets, M)});
    if (it == s->dispatch.end()) {
      g_counters.no_entry++;
    } else if (it->second < 0) {
      g_counters.cublas_entry++;
    } else {
      const Kernel& k = s->kernels[it->second];
      void *px, *pw, *po;
      aoti_torch_get_data_ptr(xv, &px);
      aoti_torch_get_data_ptr(w, &pw);
      aoti_torch_get_data_ptr(out.h, &po);
      // The Python runtime's conditions (aotgemm/runtime/ops.py), to serve exactly the same calls:
      // rows of x addressable with unit stride, the weight compact row-major, K, N, the row
      // stride and both base pointers aligned to the kernel's alignment.
      const int64_t a = k.alignment, ab = a * 2;
      const bool layout_ok = (M <= 1 || x_row >= K) && wst[1] == 1 && wst[0] == K;
      bool aligned = k.dtype == dt && layout_ok && x_row % a == 0 && N % a == 0 && K % a == 0 &&
                     (uintptr_t)px % ab == 0 && (uintptr_t)pw % ab == 0 && (uintptr_t)po % ab == 0;
      if (aligned) kern = &k; else g_counters.unsupported++;
    }
  }

  if (kern) {
    void *px, *pw, *po, *stream = nullptr;
    aoti_torch_get_data_ptr(xv, &px);
    aoti_torch_get_data_ptr(w, &pw);
    aoti_torch_get_data_ptr(out.h, &po);
    if (cuda) SHIM_CHECK(ops.stream(dev_index, &stream), "get_current_cuda_stream");
    DLDevice dev{cuda ? kDLCUDA : kDLCPU, dev_index < 0 ? 0 : dev_index};
    int64_t a_shape[2] = {M, K}, a_strides[2] = {x_row, 1};
    int64_t b_shape[2] = {K, N}, b_strides[2] = {1, wst[0]};
    int64_t o_shape[2] = {M, N}, o_strides[2] = {N, 1};
    DLTensor A{px, dev, 2, dl_dtype(dt), a_shape, a_strides, 0};
    DLTensor B{pw, dev, 2, dl_dtype(dt), b_shape, b_strides, 0};
    DLTensor O{po, dev, 2, dl_dtype(dt), o_shape, o_strides, 0};
    try {
      // The stream goes both ways a TVM-FFI kernel may read it: as the argument
      // (an integer cudaStream_t) and as the TVM-FFI environment stream.
      if (cuda) TVMFFIEnvSetStream(kDLCUDA, dev.device_id, stream, nullptr);
      if (g_stream_as_ptr.load(std::memory_order_relaxed)) {
        kern->fn(&A, &B, &O, stream);
      } else {
        try {
          kern->fn(&A, &B, &O, reinterpret_cast<int64_t>(stream));
        } catch (const tvm::ffi::Error& e) {
          if (e.kind() != "TypeError") throw;
          // A library that types its stream parameter as an opaque pointer: use that from now on.
          kern->fn(&A, &B, &O, stream);
          g_stream_as_ptr.store(1, std::memory_order_relaxed);
        }
      }
    } catch (const std::exception& e) {
      return shim_error(fmt("aotgemm: kernel %s failed (M=%lld N=%lld K=%lld): %s", kern->symbol.c_str(),
                            (long long)M, (long long)N, (long long)K, e.what()));
    }
    g_counters.hits++;
    if (bias && *bias) {
      Handle sum;
      SHIM_CHECK(ops.add(out.h, *bias, 1.0, &sum.h), "add bias");
      *ret0 = sum.release();
      return AOTI_TORCH_SUCCESS;
    }
    *ret0 = out.release();
    return AOTI_TORCH_SUCCESS;
  }

  // ---- fallback: cuBLAS (CPU: ATen) through the AOTI C shim, on 2-D views
  g_counters.misses++;
  Handle x2, wt, o2;
  int64_t x2s[2] = {M, K}, x2st[2] = {x_row, 1};
  int64_t wts[2] = {K, N}, wtst[2] = {wst[1], wst[0]};
  int64_t o2s[2] = {M, N}, o2st[2] = {N, 1};
  SHIM_CHECK(aoti_torch__reinterpret_tensor(xv, 2, x2s, x2st, x_off, &x2.h), "reinterpret x");
  SHIM_CHECK(aoti_torch__reinterpret_tensor(w, 2, wts, wtst, w_off, &wt.h), "reinterpret weight");
  SHIM_CHECK(aoti_torch__reinterpret_tensor(out.h, 2, o2s, o2st, 0, &o2.h), "reinterpret out");
  if (bias && *bias) {
    SHIM_CHECK(ops.addmm(o2.h, *bias, x2.h, wt.h, 1.0, 1.0), "addmm_out (fallback)");
  } else {
    SHIM_CHECK(ops.mm(o2.h, x2.h, wt.h), "mm_out (fallback)");
  }
  *ret0 = out.release();
  return AOTI_TORCH_SUCCESS;
}

}  // namespace

// =================================================================== C API ===
extern "C" {

__attribute__((visibility("default"))) int aotgemm_aoti_abi_version(void) { return AOTGEMM_AOTI_ABI_VERSION; }

__attribute__((visibility("default"))) unsigned aotgemm_aoti_default_flags(void) {
  const char* v = getenv("AOTGEMM_STRICT");
  if (!v) return 0;
  std::string s(v);
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return (s == "0" || s == "false" || s == "no" || s == "off") ? AOTGEMM_FLAG_NONSTRICT : 0;
}

__attribute__((visibility("default"))) int aotgemm_aoti_check(const char* package_path, const char* bundle_path,
                                                              int device_index, const aotgemm_device* device,
                                                              unsigned flags, char* err, size_t err_len) {
  CheckResult r;
  Failure f{0, ""};
  if (!do_check(package_path, bundle_path, device_index, device, flags, &r, &f)) return report(f, err, err_len);
  if (err && err_len) {
    size_t n = std::min(err_len - 1, r.warning.size());
    memcpy(err, r.warning.data(), n);
    err[n] = 0;
  }
  return AOTGEMM_OK;
}

__attribute__((visibility("default"))) int aotgemm_aoti_init(const char* package_path, const char* bundle_path,
                                                             int device_index, const aotgemm_device* device,
                                                             const char* cache_dir, unsigned flags, char* err,
                                                             size_t err_len) {
  std::lock_guard<std::mutex> lk(g_init_mu);
  CheckResult r;
  Failure f{0, ""};
  if (!do_check(package_path, bundle_path, device_index, device, flags, &r, &f)) return report(f, err, err_len);
  const Meta& m = r.pkg.meta;
  if (State* cur = g_state.load()) {
    if (cur->index_sha256 == m.index_sha256) return AOTGEMM_OK;  // same bundle: nothing to do
    return report(fail(AOTGEMM_ERR_STATE,
                       fmt("this process already serves bundle '%s' (sha256 %s) from %s; one process serves one "
                           "bundle: the package %s was built for %s", cur->bundle_name.c_str(),
                           short_sha(cur->bundle_sha256).c_str(), cur->package.c_str(), package_path,
                           bundle_desc(m).c_str())),
                  err, err_len);
  }
  auto s = std::make_unique<State>();
  s->package = package_path;
  s->bundle_name = m.bundle_name;
  s->bundle_sha256 = m.bundle_sha256;
  s->index_sha256 = m.index_sha256;
  s->buckets = m.m_buckets;
  s->device_index = r.device.index;
  s->cpu_kernels = flags & AOTGEMM_FLAG_CPU_KERNELS;
  s->warning = r.warning;
  if (r.target >= 0) {
    const MetaTarget& t = m.targets[r.target];
    s->target_gpu = t.gpu;
    if (!extract_library(t, r.lib_stored, cache_root(cache_dir), &s->library_path, &f) ||
        !load_library(t, s->library_path, s.get(), &f))
      return report(f, err, err_len);
  }
  if (!r.warning.empty()) fprintf(stderr, "aotgemm: warning: %s\n", r.warning.c_str());
  g_state.store(s.release(), std::memory_order_release);  // lives until exit: the shims may run until then
  if (err && err_len) {
    size_t n = std::min(err_len - 1, r.warning.size());
    memcpy(err, r.warning.data(), n);
    err[n] = 0;
  }
  return AOTGEMM_OK;
}

__attribute__((visibility("default"))) int aotgemm_aoti_initialized(void) { return g_state.load() != nullptr; }

__attribute__((visibility("default"))) int64_t aotgemm_aoti_counter(const char* name) {
  if (!name) return -1;
  std::string n(name);
  if (n == "calls") return g_counters.calls;
  if (n == "hits") return g_counters.hits;
  if (n == "misses") return g_counters.misses;
  if (n == "miss_no_entry") return g_counters.no_entry;
  if (n == "miss_cublas_entry") return g_counters.cublas_entry;
  if (n == "miss_unsupported") return g_counters.unsupported;
  if (n == "miss_no_kernels") return g_counters.no_kernels;
  return -1;
}

__attribute__((visibility("default"))) void aotgemm_aoti_reset_counters(void) {
  g_counters.calls = 0; g_counters.hits = 0; g_counters.misses = 0; g_counters.no_entry = 0;
  g_counters.cublas_entry = 0; g_counters.unsupported = 0; g_counters.no_kernels = 0;
}

__attribute__((visibility("default"))) const char* aotgemm_aoti_last_error(void) {
  static thread_local std::string copy;
  std::lock_guard<std::mutex> lk(g_err_mu);
  copy = g_last_error;
  return copy.c_str();
}

__attribute__((visibility("default"))) const char* aotgemm_aoti_lookup(const char* dtype, int64_t n, int64_t k, int64_t m) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s || !dtype || s->buckets.empty()) return nullptr;
  auto it = s->dispatch.find(Key{dtype_from_name(dtype), n, k, bucket_for(s->buckets, m)});
  if (it == s->dispatch.end()) return nullptr;
  return it->second < 0 ? "cublas" : s->lookup_names[it->second].c_str();
}

__attribute__((visibility("default"))) int aotgemm_aoti_describe(char* out, size_t out_len) {
  State* s = g_state.load(std::memory_order_acquire);
  std::string j;
  if (!s) {
    j = "{\"initialized\": false}";
  } else {
    j = fmt("{\"initialized\": true, \"package\": \"%s\", \"bundle\": \"%s\", \"bundle_sha256\": \"%s\", "
            "\"target\": %s, \"kernels\": %zu, \"dispatch_entries\": %zu, \"library\": %s, \"device_index\": %d, "
            "\"mode\": \"%s\"}",
            s->package.c_str(), s->bundle_name.c_str(), s->bundle_sha256.c_str(),
            s->target_gpu.empty() ? "null" : ("\"" + s->target_gpu + "\"").c_str(), s->kernels.size(),
            s->dispatch.size(), s->library_path.empty() ? "null" : ("\"" + s->library_path + "\"").c_str(),
            s->device_index, s->kernels.empty() ? "fallback" : "kernels");
  }
  if (out && out_len) {
    size_t n = std::min(out_len - 1, j.size());
    memcpy(out, j.data(), n);
    out[n] = 0;
  }
  return (int)j.size();
}

__attribute__((visibility("default"))) int aotgemm_aoti_read_meta(const char* package_path, char* out, size_t out_len,
                                                                  char* err, size_t err_len) {
  Package pkg;
  Failure f{0, ""};
  if (!package_path || !read_package(package_path, &pkg, &f)) {
    if (!package_path) f = fail(AOTGEMM_ERR_STATE, "no package path given");
    if (out && out_len) out[0] = 0;
    return report(f, err, err_len);
  }
  const std::string& t = pkg.meta.text;
  if (out && out_len) {
    size_t n = std::min(out_len - 1, t.size());
    memcpy(out, t.data(), n);
    out[n] = 0;
  }
  return AOTGEMM_OK;
}

// ---- the shims the generated AOTI wrapper calls
// (torch._inductor.config.aot_inductor.custom_ops_to_c_shims; names: aoti_torch_<device>_<op name>)
__attribute__((visibility("default"))) AOTITorchError aoti_torch_cuda_aotgemm_linear(AtenTensorHandle x,
                                                                                   AtenTensorHandle weight,
                                                                                   AtenTensorHandle* bias,
                                                                                   AtenTensorHandle* ret0) {
  return linear(true, x, weight, bias, ret0);
}

__attribute__((visibility("default"))) AOTITorchError aoti_torch_cpu_aotgemm_linear(AtenTensorHandle x,
                                                                                  AtenTensorHandle weight,
                                                                                  AtenTensorHandle* bias,
                                                                                  AtenTensorHandle* ret0) {
  return linear(false, x, weight, bias, ret0);
}

}  // extern "C"
