// The extracted-library cache and loading the kernel library.
//
// Same layout, lock and marker protocol as the Python runtime (aotgemm/runtime/library.py,
// docs/runtime.md "Cache layout"), so a library extracted by either is found by the other:
//
//   <cache root>/lib/<content sha256>/<blob name>      the library (0755)
//   <cache root>/lib/<content sha256>/<blob name>.ok   marker, written last ("<content sha256>\n")
//   <cache root>/lib/<content sha256>/.lock            flock'ed by the one process extracting
//
// Fast path: the file has the recorded size and the marker exists. Slow path: exclusive flock,
// check again, remove a stale marker and temporary files of crashed runs, decompress and verify,
// write a temporary file (.<name>.XXXXXX.tmp), fsync, rename, fsync the directory, then the marker
// the same way.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "internal.h"

namespace aotgemm {

std::string cache_root(const char* given) {
  // The Python side passes config.cache_dir() explicitly; C++ programs may pass NULL.
  if (given && *given) return given;
  if (const char* v = getenv("AOTGEMM_CACHE_DIR"); v && *v) return v;
  if (const char* v = getenv("XDG_CACHE_HOME"); v && *v) return std::string(v) + "/aotgemm";
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/aotgemm";
}

std::string library_path(const std::string& root, const MetaTarget& t) {
  return root + "/lib/" + t.lib_content_sha256 + "/" + t.lib_name;
}

namespace {

constexpr const char* kMarkerSuffix = ".ok";
constexpr const char* kLockName = ".lock";

bool mkdirs(const std::string& dir) {
  if (dir.empty()) return true;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  size_t p = dir.find_last_of('/');
  if (p != std::string::npos && p > 0 && !mkdirs(dir.substr(0, p))) return false;
  return mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST;
}

bool complete(const std::string& path, const std::string& marker, uint64_t size) {
  struct stat st, sm;
  return stat(path.c_str(), &st) == 0 && (uint64_t)st.st_size == size && stat(marker.c_str(), &sm) == 0 &&
         S_ISREG(sm.st_mode);
}

void fsync_dir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// aotgemm.bundle.io.atomic_write_bytes: a temporary file beside `path`, fsync, rename.
bool atomic_write(const std::string& dir, const std::string& name, const std::string& data, mode_t mode,
                  std::string* why) {
  std::string tmpl = dir + "/." + name + ".XXXXXX.tmp";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  int fd = mkstemps(buf.data(), 4);
  if (fd < 0) { *why = fmt("cannot create a file in %s: %s", dir.c_str(), strerror(errno)); return false; }
  std::string tmp(buf.data());
  bool ok = fchmod(fd, mode) == 0;
  size_t off = 0;
  while (ok && off < data.size()) {
    ssize_t w = write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = false; else off += (size_t)w;
  }
  ok = ok && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (ok && rename(tmp.c_str(), (dir + "/" + name).c_str()) == 0) return true;
  if (!ok) errno = saved;
  *why = fmt("cannot write %s/%s: %s", dir.c_str(), name.c_str(), strerror(errno));
  unlink(tmp.c_str());
  return false;
}

// What a crashed run may have left: ".<name>.*.tmp" (the library's and the marker's temporaries).
void remove_stale(const std::string& dir, const std::string& name) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  const std::string prefix = "." + name + ".";
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > prefix.size() + 4 && n.compare(0, prefix.size(), prefix) == 0 &&
        n.compare(n.size() - 4, 4, ".tmp") == 0)
      unlink((dir + "/" + n).c_str());
  }
  closedir(d);
}

// Decompress the verified stored bytes and verify the content.
bool decode(const MetaTarget& t, const std::string& stored, std::string* content, Failure* f) {
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
  content->assign(t.lib_size, '\0');
  size_t got = z.decompress(&(*content)[0], content->size(), stored.data(), stored.size());
  if (z.is_error(got) || got != t.lib_size || sha256_hex(content->data(), content->size()) != t.lib_content_sha256) {
    *f = fail(AOTGEMM_ERR_BUNDLE_CORRUPT, fmt("blob '%s' does not decompress to the content the index records%s%s",
                                              t.lib_name.c_str(), z.is_error(got) ? ": " : "",
                                              z.is_error(got) ? z.error_name(got) : ""));
    return false;
  }
  return true;
}

}  // namespace

bool extract_library(const MetaTarget& t, const std::string& stored, const std::string& root, std::string* path,
                     bool* extracted, Failure* f) {
  const std::string dir = root + "/lib/" + t.lib_content_sha256;
  const std::string& name = t.lib_name;
  const std::string marker = dir + "/" + name + kMarkerSuffix;
  *path = library_path(root, t);
  *extracted = false;
  if (complete(*path, marker, t.lib_size)) return true;  // the stored bytes were verified by the check
  if (!mkdirs(dir)) {
    *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot create the library cache directory %s: %s (pass a writable "
                                       "cache_dir or set AOTGEMM_CACHE_DIR)", dir.c_str(), strerror(errno)));
    return false;
  }
  int lock = open((dir + "/" + kLockName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) {
    *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot open %s/%s: %s", dir.c_str(), kLockName, strerror(errno)));
    return false;
  }
  while (flock(lock, LOCK_EX) != 0) {
    if (errno != EINTR) {
      *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot lock %s/%s: %s", dir.c_str(), kLockName, strerror(errno)));
      close(lock);
      return false;
    }
  }
  bool ok = true;
  if (!complete(*path, marker, t.lib_size)) {
    // We hold the lock: nobody else writes here. Clear what a crashed run may have left.
    unlink(marker.c_str());
    remove_stale(dir, name);
    std::string content, why;
    ok = decode(t, stored, &content, f);
    if (ok && !(atomic_write(dir, name, content, 0755, &why) &&
                (fsync_dir(dir), atomic_write(dir, name + kMarkerSuffix, t.lib_content_sha256 + "\n", 0644, &why)))) {
      *f = fail(AOTGEMM_ERR_LIBRARY, why + " (pass a writable cache_dir or set AOTGEMM_CACHE_DIR)");
      ok = false;
    }
    if (ok) {
      fsync_dir(dir);
      *extracted = true;
    }
  }
  flock(lock, LOCK_UN);
  close(lock);
  return ok;
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
      s->kernels.push_back(Kernel{k.symbol, dtype_index(k.dtype), epilogue_index(k.epilogue), k.alignment, k.max_m,
                                  k.x_row_stride, fn.value()});
    }
    for (const auto& e : t.dispatch) {
      const int dt = dtype_index(e.dtype), ep = epilogue_index(e.epilogue);
      if (dt < 0 || ep < 0) continue;  // a dtype or epilogue this library cannot serve: calls miss "no entry"
      int idx = -1;
      if (e.kernel != kCublas) {
        auto it = index_of.find(e.kernel);
        if (it == index_of.end()) {
          *f = fail(AOTGEMM_ERR_LIBRARY, fmt("dispatch entry names kernel %s, which the %s target does not list "
                                             "(the package's meta is inconsistent)", e.kernel.c_str(), t.gpu.c_str()));
          return false;
        }
        idx = it->second;
      }
      s->dispatch[Key{dt, ep, e.n, e.k, e.m_bucket}] = Route{idx, e.min_m};
    }
    s->module = mod;
  } catch (const std::exception& e) {
    *f = fail(AOTGEMM_ERR_LIBRARY, fmt("cannot load the %s kernel library %s: %s", t.gpu.c_str(), path.c_str(), e.what()));
    return false;
  }
  return true;
}

}  // namespace aotgemm
