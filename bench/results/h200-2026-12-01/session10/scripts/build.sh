cd /work/main && source .venv/bin/activate
/usr/bin/time -f "fused wall %e s" python -m aotgemm.cli build bench/results/h200-2026-11-30/session4/manifests/llama-3.1-8b-fused-q.toml --gpu H200_SXM --no-tune --sources aotgemm --sources cutlass_operators --sources quack -o .gpu/b/llama-3.1-8b-fused-q.agb > .gpu/b/fused.build.log 2>&1
echo "fused rc=$?"
/usr/bin/time -f "rowwise wall %e s" python -m aotgemm.cli build .gpu/man/llama-3.1-8b-fp8-rowwise.toml --gpu H200_SXM --no-tune -o .gpu/b/llama-3.1-8b-fp8-rowwise.agb > .gpu/b/rowwise.build.log 2>&1
echo "rowwise rc=$?"
