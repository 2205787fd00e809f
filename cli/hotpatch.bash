# bash completion for hotpatch(1). Installed by `make install` as
# $(PREFIX)/share/bash-completion/completions/hotpatch.
#
# The command list and each command's options are read from the program's
# own --help (cached per shell), so completion follows the installed version.

# _hotpatch_help ARGS...: the program's --help text for ARGS, cached.
_hotpatch_help()
{
    local key="$*" var
    var="_hotpatch_cache_$(printf '%s' "$key" | tr -c 'a-zA-Z0-9' '_')"
    if [[ -z ${!var+x} ]]; then
        printf -v "$var" '%s' "$("$_hotpatch_prog" "$@" --help 2>/dev/null)"
    fi
    printf '%s\n' "${!var}"
}

_hotpatch()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local _hotpatch_prog=${1:-hotpatch} i cmd="" verb="" words
    COMPREPLY=()
    # The command is the first word that is not a global flag.
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=${COMP_WORDS[i]}; elif [[ -z $verb ]]; then verb=${COMP_WORDS[i]}; fi ;;
        esac
    done
    case $prev in
        --out | --signing-key | --manifest-key | --zip-out | --hermesc | --entry-file | --file)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --bundle-dir | --project-dir | --build-dir)
            COMPREPLY=($(compgen -d -- "$cur"))
            return 0
            ;;
        --platform)
            COMPREPLY=($(compgen -W "android ios" -- "$cur"))
            return 0
            ;;
    esac
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--json --quiet --help --version" -- "$cur"))
        else
            words=$(_hotpatch_help | awk '/^commands:/ {f = 1; next} f && /^$/ {exit} f {print $1}')
            COMPREPLY=($(compgen -W "$words help" -- "$cur"))
        fi
        return 0
    fi
    [[ $cmd == help ]] && {
        COMPREPLY=($(compgen -W "$(_hotpatch_help | awk '/^commands:/ {f = 1; next} f && /^$/ {exit} f {print $1}')" -- "$cur"))
        return 0
    }
    # Commands with verbs (`manifest show|resign`, `config list|get|set|unset`).
    local usage
    usage=$(_hotpatch_help "$cmd" | head -1)
    if [[ -z $verb && $cur != -* ]]; then
        # "usage: hotpatch config list | get KEY | set KEY VALUE": the first
        # word of each alternative, when the usage starts with a verb.
        words=$(sed -n "s/^usage: hotpatch $cmd \\([a-z]\\)/\\1/p" <<<"$usage" | tr '|' '\n' | awk '{print $1}')
        if [[ -n $words ]]; then
            COMPREPLY=($(compgen -W "$words" -- "$cur"))
            return 0
        fi
    fi
    if [[ $cur == -* ]]; then
        words=$(_hotpatch_help "$cmd" ${verb:+"$verb"} | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _hotpatch hotpatch
