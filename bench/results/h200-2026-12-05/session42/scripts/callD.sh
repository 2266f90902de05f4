#!/usr/bin/env bash
# Session 42 call D (carry .gpu/w2 .gpu/qlin): quack's bias and residual_add kernels checked and timed.
bash bench/quack_linear_call.sh run
