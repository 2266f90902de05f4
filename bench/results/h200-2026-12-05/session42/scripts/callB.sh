#!/usr/bin/env bash
# Session 42 call B (carry .gpu/w2 .gpu/gemma): session 41's geglu: check_epilogues, tune, bench twice, the example.
bash bench/geglu_call.sh run
