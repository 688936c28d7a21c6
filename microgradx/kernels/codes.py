"""What every kernel file starts from: the op codes as plain ints, the lane program's
columns by name, and the numba flags each kind of function compiles with.

numba freezes a module's globals when it compiles a function: the plain ints below are
constants in the machine code, and `code[i, RUNS]` costs what `code[i, 7]` did.
"""

from __future__ import annotations

from numba import njit

from ..core.ops import ARITY, Op

# -- the op codes (core/ops.py), as plain ints, and the groups the lane sweeps branch on --------

LEAF, CONST = int(Op.LEAF), int(Op.CONST)
ADD, SUB, MUL, DIV = int(Op.ADD), int(Op.SUB), int(Op.MUL), int(Op.DIV)
POW, POWC, NEG, EXP, LOG = int(Op.POW), int(Op.POWC), int(Op.NEG), int(Op.EXP), int(Op.LOG)
TANH, SIGMOID, RELU, ABS = int(Op.TANH), int(Op.SIGMOID), int(Op.RELU), int(Op.ABS)
SQRT, SIN, COS = int(Op.SQRT), int(Op.SIN), int(Op.COS)
STEP, SIGN = int(Op.STEP), int(Op.SIGN)
SUM, DOT = int(Op.SUM), int(Op.DOT)
IS_UNARY = ARITY == 1  # by op code: the ops of one operand, whose rules are unary() and dunary()

# -- the lane program's columns: vcode[i] describes varying slot i (compiler/program.py) --------
#
# A and B are encoded operand references (r >= 0 a row of the lanes, r < 0 the uniform value
# -r - 1); for SUM and DOT, A is where the operands start in the program's args and B how many.
# The other columns describe a DOT, and are 0 for every other op.

OP = 0  # the op code
A = 1  # the first operand; for SUM and DOT, the first operand's place in args
B = 2  # the second operand; for SUM and DOT, the number of operands (a DOT's: 2n, x1 … xn, w1 … wn)
ROWS = 3  # a DOT's leading pairs that are a row times a uniform value (the row put first)
GROUP = 4  # on a group's first DOT: where its members start in the program's groups array
MEMBERS = 5  # on a group's first DOT: how many members; -1 on its other members; 0 outside groups
FUSED_RELU = 6  # 1: the relu that alone reads this DOT is done in the DOT's row
RUNS = 7  # how the group of this DOT runs: ALONE, TILES or MATRIX (below)
LEAD = 8  # a DOT's uniform × uniform pairs that the graph adds before its ROWS pairs (split.py)
COLUMNS = 9

# The values of column RUNS (compiler/program.py's _kind decides): each DOT on its own (dots.py);
# the group as tiles of four neurons (tiles.py); as matrix products both ways (matrix_layers.py).
ALONE, TILES, MATRIX = 0, 1, 2

# -- how numba compiles them ------------------------------------------------------------------------
#
# Every function is cached on disk (cache.py keys the cache on all the kernels' sources) and
# follows NumPy's float rules (error_model="numpy": 1/0 is inf, never an exception).

kernel = njit(cache=True, error_model="numpy", nogil=True)  # called from Python, or a big callee
uncounted_kernel = njit(cache=True, error_model="numpy", nogil=True, _nrt=False)  # the same, uncounted
inline = njit(cache=True, error_model="numpy", inline="always")  # compiled into each caller
parallel = njit(cache=True, error_model="numpy", nogil=True, parallel=True)  # prange over chunks
# The lane sweeps and all they call: products may fuse into multiply-adds ("contract"), and the
# backward's sums over lanes may be reassociated ("reassoc") so that they vectorise. They, and
# the passes and entry points that call them (chunks.py's forward_pass and backward_pass, calls.py's
# run_forward and train_steps: uncounted_kernel), allocate nothing, and run without numba's
# reference counting (_nrt=False); an uncounted entry point also takes its arrays from Python
# without making a reference count for each (the digits' train_step 50.9 µs against 54.3-55.6).
# numba counts a reference to each array a function is given and to each view it makes, an atomic
# add and subtract each (15 ns a pair here), and those were ~70 of the moons' train_step's ~200
# pairs a step. A function so compiled cannot allocate, nor call one that does (numba compiles
# its callees with its flags unless they set their own): the kernels that do keep the counting.
uncounted_forward = njit(cache=True, error_model="numpy", nogil=True, fastmath={"contract"}, _nrt=False)
uncounted_backward = njit(
    cache=True, error_model="numpy", nogil=True, fastmath={"reassoc", "contract"}, _nrt=False
)
# matmul.py's dense products: the same flags, so that their sums along k vectorise; and uncounted,
# for the product the matrix layers call with their scratch (matmul.product_into).
dense = njit(cache=True, error_model="numpy", nogil=True, fastmath={"reassoc", "contract"})
uncounted_dense = njit(
    cache=True, error_model="numpy", nogil=True, fastmath={"reassoc", "contract"}, _nrt=False
)
