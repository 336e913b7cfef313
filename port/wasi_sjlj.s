# The exception tag that wasi-libc's setjmp/longjmp (built on the wasm
# exception-handling proposal) throws; the link needs it defined exactly once.
.globl __c_longjmp
.tagtype __c_longjmp i32
__c_longjmp:
