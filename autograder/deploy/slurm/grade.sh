#!/usr/bin/env bash
# Grade a class on a Slurm cluster, from the repository root on the head node:
#   autograder/deploy/slurm/grade.sh DOWNLOADS N [EXPORT-OPTION ...]
# 1. collect here (repair, zero the rejects, build the gradebook), 2. N shards as one job array
# (shard.sbatch: each task 2 cores, 2 workers, autograde then feedback of its students), 3. one
# job after the whole array succeeded (finish.sbatch): merge-shards, export (the EXPORT-OPTIONs
# go to export, e.g. --force while written answers wait for a grader). The course folder (VAECOURSE_COURSE_DIR,
# default autograder/course) must be on a file system every node sees; sbatch passes the
# environment on (VAECOURSE_DATA, VAECOURSE_DB_URL, ...). Prints the two job ids.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DOWNLOADS N [EXPORT-OPTION ...]" >&2
  exit 2
fi
downloads=$1 shards=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
logs="${VAECOURSE_COURSE_DIR:-autograder/course}/slurm"
mkdir -p "$logs"
"${PYTHON:-python3}" -m autograder collect "$downloads"
array=$(sbatch --parsable --array=1-"$shards" --output="$logs/shard-%A_%a.out" "$here/shard.sbatch")
array=${array%%;*}
finish=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
  --output="$logs/finish-%j.out" "$here/finish.sbatch" "$@")
echo "shards: job array ${array} (1-${shards}); merge and export: job ${finish%%;*}; logs in ${logs}"
