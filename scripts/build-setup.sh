# Sourced by scripts/demo-ceremony.sh and scripts/test.sh: one meson configuration for both, so
# the test command reuses the demo's build folder (same folder, same options: nothing recompiled)
# instead of building everything again.
#
#   . scripts/build-setup.sh; grafos_build_setup    -> configures $grafos_build
#
# GRAFOS_BUILD_DIR names the folder (default: build); GRAFOS_SETUP_OPTIONS adds meson -D options
# after -Dwerror=true (the last of two wins; scripts/sanitize.sh uses it for its own folder).
# GRAFOS_SETUP_DRY_RUN=1 prints the meson command instead of running it, and the caller stops.
grafos_build=${GRAFOS_BUILD_DIR:-build}

# Configures (or reconfigures in place) $grafos_build; prints meson's report only on failure.
grafos_build_setup() {
  local opts=() cmd=(meson setup) out
  # -d "": the whole value, so that options on a second line are not dropped (status 1 at its end).
  read -ra opts -d "" <<<"-Dwerror=true ${GRAFOS_SETUP_OPTIONS:-}" || true
  [ -d "$grafos_build" ] && cmd+=(--reconfigure)
  cmd+=("$grafos_build" "${opts[@]}")
  if [ "${GRAFOS_SETUP_DRY_RUN:-0}" = 1 ]; then
    printf '%s\n' "${cmd[*]}"
    return 0
  fi
  if ! out=$("${cmd[@]}" 2>&1); then
    printf '%s\n' "$out" | tail -n 20 >&2
    return 1
  fi
}
