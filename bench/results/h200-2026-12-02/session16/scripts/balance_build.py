# session 16: the --balance grid at max_m 16 only, for Qwen2.5-32B TP4's gate_up (13824 x 5120: 216 64-row tiles,
# 1.64 per SM) and Qwen3-4B's (19456 x 2560: 152 128-row tiles), where builds' TMA kernels ran 90% and 85% of
# the HBM floor at M = 8-16 and cuBLAS kept the buckets
import sys
sys.path.insert(0, "bench"); sys.path.insert(0, ".")
import decode_probe as dp
table = {}
for n, k in [(13824, 5120), (19456, 2560)]:
    table.update(dp.symbol_table(dp.balance_designs(n, k, max_ms=(16,))))
dp.compile_and_link(sys.argv[1], table)
