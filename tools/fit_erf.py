"""Fits the polynomial coefficients of cribo's vectorised erf (Sources/CriboNN/Kernels/VectorMath.swift).

Branch A, |x| < 1: erf(x) = x * P(x^2), P of degree 7 (least squares on Chebyshev nodes of [0, 1]).
Branch B, 1 <= |x| < 4: erf(x) = 1 - exp(-x^2) * Q(s), s = (|x| - 2.5) / 1.5, Q of degree 10 fitted to erfcx.
|x| >= 4: erf(x) = sign(x) (1 - erf(4) < 1.6e-8, below Float32 resolution at 1).
Prints the Float32-evaluated error of each candidate degree and the chosen coefficients.
Run: python3 tools/fit_erf.py   (numpy, scipy)
"""
import numpy as np
import math
from scipy.special import erfcx
u=np.cos(np.linspace(0,np.pi,2000))*0.5+0.5
g=lambda v: math.erf(math.sqrt(v))/math.sqrt(v) if v>0 else 2/math.sqrt(math.pi)
f=np.array([g(v) for v in u])
uu=np.linspace(0,1,20001); ff=np.array([g(v) for v in uu])
for deg in [6,7,8]:
    c=np.polynomial.polynomial.polyfit(u,f,deg)
    c32=c.astype(np.float32); acc=np.zeros_like(uu,dtype=np.float32)+c32[-1]
    for cc in c32[-2::-1]: acc=acc*uu.astype(np.float32)+cc
    print('A',deg,np.max(np.abs(acc-ff)/ff))
    if deg==7: print([float(x) for x in c])
xs=np.cos(np.linspace(0,np.pi,4000))*1.5+2.5
xx=np.linspace(1,4,30001); ss=((xx-2.5)/1.5).astype(np.float32)
for deg in [10,12,14]:
    c=np.polynomial.polynomial.polyfit((xs-2.5)/1.5,erfcx(xs),deg)
    c32=c.astype(np.float32); acc=np.zeros_like(ss)+c32[-1]
    for cc in c32[-2::-1]: acc=acc*ss+cc
    e=1-np.exp(-xx**2)*acc
    print('B',deg,np.max(np.abs(e-np.array([math.erf(v) for v in xx]))))
    if deg==10: print([float(x) for x in c])
