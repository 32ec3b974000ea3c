# bash completion for owf(1). The commands and options are read from `owf --help` and
# `owf COMMAND --help` when completing, so they always match the owf being completed.

# _owf_help_items SECTION OWF [COMMAND...]: the options (SECTION "Options") or subcommands
# (SECTION "Subcommands") that CLI11's help lists; an option taking a value is followed by "=".
_owf_help_items() {
  local section=$1
  shift
  "$@" --help 2>/dev/null | awk -v section="$section:" '
    /^[^ ]/ { in_section = ($0 == section); next }
    in_section && /^  [^ ]/ {
      sub(/^  /, "")
      split($0, columns, /  +/)          # "--format NAME", then the description
      n = split(columns[1], words, " ")
      count = split(words[1], names, ",")
      for (i = 1; i <= count; i++) print names[i] (n > 1 && section == "Options:" ? "=" : "")
    }'
}

_owf() {
  local owf=${COMP_WORDS[0]} current=${COMP_WORDS[COMP_CWORD]} previous=${COMP_WORDS[COMP_CWORD - 1]}
  local -a command=()
  local i word
  # The command and meta's subcommand typed so far, skipping options and their values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    [[ $word == -* ]] && continue
    [[ ${COMP_WORDS[i - 1]} == --threads || ${COMP_WORDS[i - 1]} == --header ]] && continue
    if ((${#command[@]} == 0)) ||
      { [[ ${command[0]} == meta ]] && ((${#command[@]} == 1)) && [[ $word == get || $word == set || $word == delete ]]; }; then
      command+=("$word")
    fi
  done

  local -a options=()
  # A command's own option comes first; a global one of the same name (-v) is not offered twice.
  mapfile -t options < <({ _owf_help_items Options "$owf" "${command[@]}"; ((${#command[@]})) && _owf_help_items Options "$owf"; } | awk '!seen[$0]++')
  if [[ " ${options[*]} " == *" $previous= "* ]]; then
    case $previous in
      --format)
        local formats
        formats=$("$owf" --help 2>/dev/null | sed -n 's/^Formats[^:]*: //p' | tr -d ',')
        mapfile -t COMPREPLY < <(compgen -W "$formats" -- "$current")
        ;;
      --signature | --key | -o | --output)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$current")
        ;;
      *) COMPREPLY=() ;;
    esac
    return
  fi
  if [[ $current == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${options[*]%=}" -- "$current")
    return
  fi
  local -a subcommands=()
  if ((${#command[@]} == 0)) || { [[ ${command[0]} == meta ]] && ((${#command[@]} == 1)); }; then
    mapfile -t subcommands < <(_owf_help_items Subcommands "$owf" "${command[@]}")
  fi
  if ((${#command[@]} == 0)); then
    mapfile -t COMPREPLY < <(compgen -W "${subcommands[*]}" -- "$current")
    return
  fi
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -W "${subcommands[*]}" -- "$current"; compgen -f -- "$current")
}

complete -F _owf owf
