#!/usr/bin/env bash
# Reproduce the shipped Fashion-MNIST model end to end (CPU; Debian 12 with python3-torch 1.13, numpy, PIL and
# the dataset-fashion-mnist package). Run from the repository root:  bash tools/train/run_all.sh
# Step counts are the ones used for the shipped files (see README.md for timings on a shared 2-core machine).
set -euo pipefail
PY=${PY:-/usr/bin/python3}
cd "$(dirname "$0")/../.."
VQVAE_STEPS=${VQVAE_STEPS:-800}
N_IMAGES=${N_IMAGES:-24000}; VAR_STEPS=${VAR_STEPS:-2000}; VAR_BS=${VAR_BS:-64}
t0=$(date +%s)
$PY tools/train/classifier.py --threads 1
t1=$(date +%s)
$PY tools/train/train_vqvae.py --steps "$VQVAE_STEPS"
t2=$(date +%s)
$PY tools/train/train_var.py --n_images "$N_IMAGES" --steps "$VAR_STEPS" --bs "$VAR_BS"
t3=$(date +%s)
cat > tools/train/out/run.json <<EOF
{"vqvae_steps": $VQVAE_STEPS, "n_images": $N_IMAGES, "var_steps": "$VAR_STEPS --bs $VAR_BS",
 "default_cfg": ${DEFAULT_CFG:-2.0}, "default_top_k": ${DEFAULT_TOP_K:-0}, "default_top_p": ${DEFAULT_TOP_P:-0.8},
 "seconds": {"classifier": $((t1-t0)), "vqvae": $((t2-t1)), "var": $((t3-t2))}}
EOF
$PY tools/train/export.py
$PY tools/train/sample_eval.py --recon
$PY tools/train/sample_eval.py --sweep --per_class 20   # how the defaults were chosen
$PY tools/train/sample_eval.py --per_class 100 --from_assets | tee tools/train/out/sample_eval.txt
$PY tools/train/export_parity.py
$PY tools/train/beta_policy.py
