# zsh -f complete.zsh SCRIPT OUT LINE...: types each LINE into an interactive zsh that loaded
# SCRIPT after compinit, presses Tab at its end, and appends to OUT every match the completion
# system was given (after it filtered them against the word being completed), then "-- done --".
zmodload zsh/zpty || exit 2
local script=$1 out=$2 chunk
shift 2
zpty z zsh -f -i
zpty -w z "PS1=''; LISTMAX=100000; autoload -Uz compinit && compinit -u -D && source ${(q)script}"
zpty -w z "compadd() { if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi; local -a __m; builtin compadd -O __m \"\$@\"; print -rl -- \$__m >> ${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "__done() { print -r -- '-- done --' >> ${(q)out}; }; bindkey '^I' complete-word"
: >> $out
integer n=0 tries
for line in "$@"; do
  zpty -w z "comppostfuncs=(__done)"
  zpty -w -n z "$line"$'\t'
  (( n++ ))
  tries=0
  until (( $(grep -c -- '^-- done --$' $out 2>/dev/null) >= n )); do
    while zpty -rt z chunk 2>/dev/null; do :; done
    (( ++tries > 150 )) && { print -u2 "zsh gave no completion for: $line"; zpty -d z; exit 1; }
    sleep 0.1
  done
  # Ctrl-U empties the line for the next one.
  zpty -w -n z $'\C-u'
done
# The shell ends by itself, so that zpty reaps it.
zpty -w z 'exit'
sleep 0.2
zpty -d z
