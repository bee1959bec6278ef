#!/usr/bin/env bash
# The dense models on MNIST (the dense rows of docs/reproduce.md's make full table). Sequential, logged; resumes a run left unfinished.
set -e
AE=.venv/bin/ae
for spec in "dense 50 adam" "sparse 100 adam" "deep 100 adam" "dense 50 adadelta"; do
  set -- $spec
  out=runs/mnist-$1-$3
  if [ -f $out/eval.json ]; then continue; fi
  if [ -f $out/state/trainer.json ]; then
    /usr/bin/time -f "$out wall %e s (resumed)" $AE train --resume $out --quiet
  else
    /usr/bin/time -f "$out wall %e s" $AE train $1 --data mnist --epochs $2 --batch-size 256 --optimizer $3 --out $out --quiet
  fi
  $AE evaluate $out --json > $out/eval.json
done
