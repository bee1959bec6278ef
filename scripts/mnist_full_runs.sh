#!/usr/bin/env bash
# Train the full-profile modern runs of `ae reproduce` one by one (same configs, so reproduce reuses them).
AE=.venv/bin/ae
R=reproduce/runs
train() {  # name out args...
  local out=$1; shift
  if [ -f $out/state/trainer.json ]; then $AE train --resume $out --quiet; else $AE train "$@" --data mnist --out $out --quiet; fi
  echo "$(date +%T) finished $out"
}
case "$1" in
  conv) train $R/modern-conv conv --epochs 50 --batch-size 128 ;;
  rest) train $R/modern-vae vae --epochs 50 --batch-size 100
        train $R/modern-lstm lstm --epochs 20 --batch-size 256 --as-sequence ;;
  denoise) train $R/modern-denoise conv-denoise --epochs 100 --batch-size 128 --noise gaussian:0.5 ;;
esac
case "$1" in
  denoise30) train runs/mnist-denoise-30 conv-denoise --epochs 30 --batch-size 128 --noise gaussian:0.5 ;;
  article) train $R/article-sparse sparse --epochs 100 --batch-size 256 --optimizer adadelta
           train $R/article-deep deep --epochs 100 --batch-size 256 --optimizer adadelta ;;
esac
