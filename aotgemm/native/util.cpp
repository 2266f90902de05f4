// Errors, formatting, SHA-256, zstd and file reading for libaotgemm_aoti (see internal.h).
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "internal.h"

namespace aotgemm {

// ---------------------------------------------------------------- errors ---
namespace {
std::mutex g_err_mu;
std::string g_last_error;
}  // namespace

Failure fail(int code, const std::string& msg) { return Failure{code, msg}; }

void set_last_error(const std::string& msg) {
  std::lock_guard<std::mutex> lk(g_err_mu);
  g_last_error = msg;
}

std::string last_error() {
  std::lock_guard<std::mutex> lk(g_err_mu);
  return g_last_error;
}

void copy_out(const std::string& s, char* out, size_t len) {
  if (!out || !len) return;
  size_t n = std::min(len - 1, s.size());
  memcpy(out, s.data(), n);
  out[n] = 0;
}

int report(const Failure& f, char* err, size_t err_len) {
  set_last_error(f.msg);
  copy_out(f.msg, err, err_len);
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

std::string short_sha(const std::string& s) { return s.substr(0, 12); }

// --------------------------------------------------------------- sha-256 ---
namespace {
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

}  // namespace

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

// ------------------------------------------------------------------ text ---
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

}  // namespace aotgemm
