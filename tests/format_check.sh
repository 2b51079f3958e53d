#!/bin/sh
# format_check.sh CLANG_FORMAT ROOT: every C source and header of the project
# (compiler, runtime, examples, fuzz, tests, bench/kernels; not generated
# files or test data) is formatted as ROOT/.clang-format says. Lists the
# files that are not and fails; `clang-format -i FILE` fixes one.
set -u
cf=$1
root=$2
cd "$root" || exit 1
files=$(git ls-files 'compiler/*.[ch]' 'runtime/*.[ch]' 'examples/*.[ch]' 'fuzz/*.[ch]' 'tests/*.[ch]' \
        'bench/kernels/*.[ch]' 2>/dev/null)
[ -n "$files" ] || files=$(find compiler runtime examples fuzz tests bench/kernels -name '*.[ch]' -not -path '*/data/*')
n=0
bad=0
for f in $files; do
    n=$((n + 1))
    if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f"
        bad=$((bad + 1))
    fi
done
if [ "$n" -lt 100 ]; then
    echo "format_check: only $n files found under $root"
    exit 1
fi
if [ "$bad" -ne 0 ]; then
    echo "format_check: $bad of $n files differ from .clang-format (clang-format -i FILE)"
    exit 1
fi
echo "format_check: $n files formatted"
