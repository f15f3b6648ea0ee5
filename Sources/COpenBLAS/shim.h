// Declarations only: the CBLAS enums. The library itself is loaded at run time by CCriboShims.
#include <cblas.h>
