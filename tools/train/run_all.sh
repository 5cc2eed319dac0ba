#!/usr/bin/env bash
# Reproduce the shipped Fashion-MNIST model end to end (CPU; Debian 12 with python3-torch 1.13, numpy, PIL and
# the dataset-fashion-mnist package). Run from the repository root:  bash tools/train/run_all.sh
# Step counts are the ones used for the shipped files (see README.md for timings on a shared 2-core machine).
set -euo pipefail
PY=${PY:-/usr/bin/python3}
cd "$(dirname "$0")/../.."
VQVAE_STEPS=${VQVAE_STEPS:-600}; VQVAE_STOP=${VQVAE_STOP:-200}
N_IMAGES=${N_IMAGES:-10000}; VAR_STEPS=${VAR_STEPS:-700}; VAR_BS=${VAR_BS:-32}
t0=$(date +%s)
$PY tools/train/classifier.py
t1=$(date +%s)
$PY tools/train/train_vqvae.py --steps "$VQVAE_STEPS" --stop_at "$VQVAE_STOP"
t2=$(date +%s)
$PY tools/train/train_var.py --n_images "$N_IMAGES" --steps "$VAR_STEPS" --bs "$VAR_BS"
t3=$(date +%s)
cat > tools/train/out/run.json <<EOF
{"vqvae_steps": "$VQVAE_STEPS --stop_at $VQVAE_STOP", "n_images": $N_IMAGES, "var_steps": "$VAR_STEPS --bs $VAR_BS",
 "default_cfg": ${DEFAULT_CFG:-2.0}, "default_top_k": ${DEFAULT_TOP_K:-0}, "default_top_p": ${DEFAULT_TOP_P:-0.0},
 "seconds": {"classifier": $((t1-t0)), "vqvae": $((t2-t1)), "var": $((t3-t2))}}
EOF
$PY tools/train/export.py
$PY tools/train/sample_eval.py --recon
$PY tools/train/sample_eval.py --per_class 100 --from_assets
$PY tools/train/export_parity.py
