#include "provenance/output.hpp"

#include <system_error>

#include "util/file_io.hpp"

namespace grafos::provenance {

namespace {

Error output_exists(const std::filesystem::path& output) {
  return Error{Errc::exists, "output '" + output.string() + "' already exists"};
}

}  // namespace

Result<void> check_output_free(const Destination& output) {
  if (!output.path || output.force) return ok();
  std::error_code ec;
  if (std::filesystem::symlink_status(*output.path, ec).type() !=
      std::filesystem::file_type::not_found)
    return output_exists(*output.path);
  return ok();
}

Result<void> write_output(const Destination& output, const std::string& text) {
  if (!output.path) return ok();
  WriteOptions wo;
  wo.mode = 0644;
  wo.overwrite = output.force;
  if (auto r = write_file_atomic(*output.path, text, wo); !r) {
    if (r.error().code == Errc::exists) return output_exists(*output.path);
    return std::move(r).error();
  }
  return ok();
}

}  // namespace grafos::provenance
