"""Session 17: the best kernel of each kind (CUDA-core max_m 1/2/4, with "pf" the L2 prefetch variant and "P"
the persistent shared-memory-x one; cp.async
max_m 8; TMA max_m 16) per weight and M, as cuBLAS/ours back to back (and in a model), from a decode_probe JSON.
Usage: python by_kind.py decode_probe.json (or .json.gz: scripts/pack_results.py packs committed results)"""
import sys,collections,pathlib
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[5] / "bench"))
from results_io import read_json
d=read_json(sys.argv[1])
rows=d['rows']
bad=[s for s,e in d['checks'].items() if e['status']!='ok']; print('checks',len(d['checks']),'bad',bad)
by=collections.defaultdict(list)
for r in rows: by[(r['n'],r['k'],r['m'])].append(r)
def lab(r):
    dd=r['design']; 
    if dd['kind']=='simt': return f"simt{dd['max_m']}{'pf' if dd.get('pf') else ''}{'P' if dd.get('ctas') else ''}"
    return dd['kind'].replace('swapab_','')+str(dd['max_m'])
print(f"{'shape':>12} {'M':>2} {'cublas':>7} | best per class plain (model)")
for key in by:
    rs=by[key]; cls=collections.defaultdict(list)
    for r in rs: cls[lab(r)].append(r)
    cb=rs[0]['cublas_us']; cbm=rs[0]['cublas_model_us']
    parts=[]
    for c in sorted(cls):
        bp=min(cls[c],key=lambda r:r['us']); bm=min(cls[c],key=lambda r:r['model_us'])
        parts.append(f"{c}:{cb/bp['us']:.3f}({cbm/bm['model_us']:.3f})")
    print(f"{key[0]}x{key[1]:<6} {key[2]:>2} {cb:7.2f} | "+"  ".join(parts))
