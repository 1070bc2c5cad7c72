// libsystemc provides main() and calls sc_main(). The executables that link the backend registry
// (nqkv, the tests) have their own main() and never call it; this definition only resolves the
// library's reference. A SystemC simulation that needs sc_main writes its own (tests/systemc).
extern "C" int sc_main(int, char**) { return 0; }  // declared extern "C" by <systemc>
