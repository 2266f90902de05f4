// The package's meta file: a flat, tab-separated description of the bundle, derived from its
// validated index by aotgemm.aoti.compile (aotgemm/aoti/meta.py writes it; the grammar is there).
// Its version is AOTGEMM_META_VERSION of the generated aotgemm_rule.h.
#include <sstream>

#include "internal.h"

namespace aotgemm {

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
      if (a != AOTGEMM_META_VERSION)
        return bad(fmt("meta version %lld; this library reads %d (recompile the package with this aotgemm, "
                       "or rebuild the native library)", (long long)a, AOTGEMM_META_VERSION));
      header = true;
      continue;
    }
    if (key == "bundle" && f.size() == 6 && to_i64(f[2], &a) && to_i64(f[5], &b)) {
      m->bundle_name = f[1]; m->bundle_size = a; m->bundle_sha256 = f[3]; m->index_sha256 = f[4]; m->data_offset = b;
    } else if (key == "device" && f.size() == 2) {
      m->device = f[1];
    } else if (key == "m_buckets") {
      for (size_t i = 1; i < f.size(); i++) {
        if (!to_i64(f[i], &a) || a < 1 || (!m->m_buckets.empty() && a <= m->m_buckets.back()))
          return bad("m_buckets must be ascending positive integers");
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
      if (t->lib_name.empty() || t->lib_name[0] == '.' || t->lib_name.find('/') != std::string::npos ||
          t->lib_content_sha256.size() != 64 || t->lib_content_sha256.find('/') != std::string::npos)
        return bad("unsafe library name or checksum");
    } else if (key == "kernel" && f.size() == 9 && to_i64(f[6], &a) && to_i64(f[7], &b) && to_i64(f[8], &c) &&
               a >= 1 && b >= 0 && c >= 0) {
      // kernel <symbol> <source> <dtype> <layout> <epilogue> <alignment> <max_m> <x_row_stride>
      t->kernels.push_back(MetaKernel{f[1], f[2], f[3], f[4], f[5], a, b, c});
    } else if (key == "dispatch" && f.size() == 9 && to_i64(f[4], &a) && to_i64(f[5], &b) && to_i64(f[6], &c) &&
               to_i64(f[8], &d) && d >= 0) {
      // dispatch <dtype> <layout> <epilogue> <n> <k> <m_bucket> <symbol|cublas> <min_m>
      t->dispatch.push_back(MetaEntry{f[1], f[2], f[3], f[7], a, b, c, d});
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

}  // namespace aotgemm
