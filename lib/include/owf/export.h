// OWF_EXPORT marks what libowf.so exports. The library is compiled with hidden visibility, so a
// program sees only what the public headers declare: each opens its namespace as
// `namespace OWF_EXPORT owf {`, which exports every class (with its vtable and typeinfo) and every
// function declared inside it, and nothing lib/src or format/ declare for themselves. A new public
// header opens its namespace the same way (tests/install checks it).
// The C API (owf.h) marks its functions with OWF_C_API, the same attribute.
#pragma once

#if defined(__GNUC__)
#define OWF_EXPORT [[gnu::visibility("default")]]
#else
#define OWF_EXPORT
#endif
