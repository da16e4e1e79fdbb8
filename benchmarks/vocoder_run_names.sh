# Sourced by the vocoder benchmark scripts: a run name -> the recipe YAML and extra flags.
# NAME = YAML[_floor01][_precond][_v], YAML one of diffwave, priorgrad, specgrad:
#   _floor01  --specgrad_floor 0.1 (SpecGrad's |M| floored at -20 dB instead of -40 dB)
#   _precond  --prior_precondition true (the network in the prior's whitened domain)
#   _v        --prediction v
# Usage: read -r yaml flags <<< "$(vocoder_run_flags specgrad_floor01_precond)"
vocoder_run_flags() {
  local yaml=${1%%_*} rest=${1#*_} flags="" part
  [ "$rest" = "$1" ] && rest=""
  for part in ${rest//_/ }; do
    case $part in
      floor01) flags="$flags --specgrad_floor 0.1" ;;
      precond) flags="$flags --prior_precondition true" ;;
      v) flags="$flags --prediction v" ;;
      *) echo "unknown part '$part' of the vocoder run name '$1'" >&2; return 1 ;;
    esac
  done
  echo "$yaml$flags"
}
