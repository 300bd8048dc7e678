# Turns taxonomy/default.yaml into a C++ string constant (run by core/CMakeLists.txt).
file(READ ${IN} content)
file(WRITE ${OUT} "// Generated from taxonomy/default.yaml — edit that file, not this one.\n"
  "namespace consentrig::core::detail {\n"
  "extern const char* const kDefaultTaxonomyYaml;\n"
  "const char* const kDefaultTaxonomyYaml = R\"taxonomy(${content})taxonomy\";\n"
  "}\n")
