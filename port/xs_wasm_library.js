// emscripten JS library: the host imports of xs_wasm.h, forwarded to the
// hooks the loader installs on the Module object as `Module.xsWasmHost`
// ({ send(machine, ptr, len) -> int, reply(machine, ptr), log(machine, level, ptr, len), now() -> ms,
// interrupt(machine) -> int, call(machine, id, namePtr, nameLen, argsPtr, argsLen) -> int,
//    resolve(machine, specifierPtr, specifierLen, referrerPtr, referrerLen) -> int,
//    load(machine, idPtr, idLen, kindPtr) -> int }).
mergeInto(LibraryManager.library, {
  xs_wasm_host_send: function (machine, json, length) {
    return Module['xsWasmHost'].send(machine, json, length);
  },
  xs_wasm_host_reply: function (machine, buffer) {
    Module['xsWasmHost'].reply(machine, buffer);
  },
  xs_wasm_host_log: function (machine, level, text, length) {
    Module['xsWasmHost'].log(machine, level, text, length);
  },
  xs_wasm_host_now: function () {
    return Module['xsWasmHost'].now();
  },
  xs_wasm_host_interrupt: function (machine) {
    return Module['xsWasmHost'].interrupt(machine);
  },
  xs_wasm_host_call_import: function (machine, call, name, nameLength, args, argsLength) {
    return Module['xsWasmHost'].call(machine, call, name, nameLength, args, argsLength);
  },
  xs_wasm_host_resolve: function (machine, specifier, specifierLength, referrer, referrerLength) {
    return Module['xsWasmHost'].resolve(machine, specifier, specifierLength, referrer, referrerLength);
  },
  xs_wasm_host_load: function (machine, id, length, kind) {
    return Module['xsWasmHost'].load(machine, id, length, kind);
  },
});
