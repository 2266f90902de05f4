#!/usr/bin/env bash
# Session 42 call C (carry .gpu/w2; call A's /tmp on the same warm machine): the AOTInductor rows.
bash bench/qkv_fusion_call.sh aoti
