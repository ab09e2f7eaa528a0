// What the fuzz targets share: a record of how deep the current input got, so that a test can
// prove each committed seed reaches the code its target names (tests/fuzz/standalone_main.cpp).
//
// A target calls reached("stage") at each point it passes, shallow to deep; the deepest stage of
// an input is the last one recorded. Under libFuzzer this is a pointer store and costs nothing.
#pragma once

namespace grafos::fuzz {

/// The deepest stage the current input reached (nullptr: none).
inline const char*& deepest_stage() {
  static const char* stage = nullptr;
  return stage;
}

/// Records that the current input reached `stage` (a string literal).
inline void reached(const char* stage) { deepest_stage() = stage; }

}  // namespace grafos::fuzz
