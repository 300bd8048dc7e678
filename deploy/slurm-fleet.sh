#!/usr/bin/env bash
# Slurm array job: one consentrig shard per array task, then a merge step.
#
#   sbatch --array=0-15 deploy/slurm-fleet.sh scenarios/fleet-week.yaml out/fleet-week
#   # when all tasks are done (or chain with --dependency=afterok:<jobid>):
#   consentrig merge out/fleet-week/shard-*-of-16 --out out/fleet-week
#
# consentrig reads SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT (and SLURM_ARRAY_TASK_MIN) to
# pick its shard, so every task runs the same command line. Findings after the merge are
# byte-identical to a single-process run of the same scenario and seed; run the merge from the
# folder sbatch ran in, so that it finds the scenario and checks its expectations.
#SBATCH --job-name=consentrig-fleet
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=2G
#SBATCH --time=01:00:00
#SBATCH --output=consentrig-%A_%a.log
set -euo pipefail
scenario=${1:?usage: sbatch --array=0-N deploy/slurm-fleet.sh SCENARIO OUTDIR}
out=${2:?usage: sbatch --array=0-N deploy/slurm-fleet.sh SCENARIO OUTDIR}
consentrig=${CONSENTRIG:-consentrig}
# Exit status 1 means "findings" (the run worked); only 2 is a failure of the task.
set +e
"$consentrig" run "$scenario" --out "$out" --quiet
status=$?
set -e
[ "$status" -le 1 ] || exit "$status"
