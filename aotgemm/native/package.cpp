// Reading a .pt2 made by aotgemm.aoti.compile, and the checks both loaders share
// (aotgemm_aoti_check; docs/aoti.md, "The checks"): the bundle is present, is the one the
// package was built with, is intact, and has a target for this GPU with a new enough driver.
#include <caffe2/serialize/inline_container.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <cstring>
#include <tuple>

#include "internal.h"

namespace aotgemm {

// ------------------------------------------------------- CUDA driver API ---
namespace {
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

}  // namespace

static bool query_device(int index, DeviceInfo* out, std::string* why) {
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

// ---------------------------------------------------------- the package ---
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
static bool check_bundle_header(const Meta& m, const BundleSource& src, Failure* f) {
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
  if (version != AOTGEMM_BUNDLE_FORMAT_VERSION) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("%s: bundle format version %u; this library reads version %d",
                                              where.c_str(), version, AOTGEMM_BUNDLE_FORMAT_VERSION));
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

static bool read_blob(const MetaTarget& t, const BundleSource& src, std::string* stored, Failure* f) {
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

static bool identify(const MetaTarget& t, const DeviceInfo& d) {
  if (t.cc_major != d.cc_major || t.cc_minor != d.cc_minor || t.sm_count != d.sm_count) return false;
  for (const auto& s : t.device_names)
    if (!s.empty() && d.name.find(s) != std::string::npos) return true;
  return false;
}

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

}  // namespace aotgemm
