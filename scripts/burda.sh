#!/usr/bin/env bash
# Burda et al.'s VAE (784-200-200-50 tanh) on dynamically binarized MNIST at latent 2, 20, 50:
# 5 epochs of Adam each, then the k=5000 importance-weighted bound on the first 1000 test images.
AE=.venv/bin/ae
for k in 2 20 50; do
  out=runs/burda-$k
  [ -f $out/likelihood.json ] && continue
  $AE train vae-burda --data mnist --binarize dynamic --latent-size $k --epochs 5 --batch-size 100 --out $out --quiet
  /usr/bin/time -f "$out likelihood wall %e s" $AE likelihood $out --k 5000 --limit 1000 --json > /dev/null
  echo "$(date +%T) $out done"
done
