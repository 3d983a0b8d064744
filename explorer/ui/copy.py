"""The page's words: formulas, captions, the about text (and one constant style sheet)."""

ABOUT = (
    "Loshchilov & Hutter, *Decoupled Weight Decay Regularization* (ICLR 2019).\n\n"
    "- **2-D trajectories**: where each update rule ends, and why.\n"
    "- **Live training**: Adam+L2 vs AdamW on real digits, same weights and batches.\n"
    "- **lr × λ sweep**: the paper's heat maps, measured live.\n"
    "- **Insights**: Propositions 1 and 2, effective decay, the decay forms, the loss landscape, a λ converter.\n\n"
    "Every update is torch's own fused Adam / SGD kernel, checked bit for bit against "
    "`torch.optim` (`fused=True`) over 1,000 steps; every view is a link (the address bar, or "
    "*Share this view* above) and every chart exports."
)


CONTROLS = "controls_"     # the key prefix of a control block (controls.control_block): its class is st-key-controls_…
ROW = "row_"               # the key prefix of a row of buttons (controls.button_row)

# The page's one constant style sheet. Less empty space above the title, so the first chart is on screen at
# 1366×768. On a phone (under 640 px, where Streamlit stacks columns) the charts come first: a control block, or
# the column holding it, moves to the end of its block (flex `order`), and a wide table or chart scrolls inside
# its own box instead of the page; a row of buttons stays a row. No header Stop: it ends the page's script run,
# not the work (which runs in worker processes and has its own Cancel).
COMPACT_PAGE = (
    "<style>[data-testid='stMainBlockContainer']{padding-top:3.2rem}"
    "[data-testid='stStatusWidget'] button{display:none}"
    "@media (max-width:640px){"
    f"[data-testid='stLayoutWrapper']:has(>[class*='st-key-{CONTROLS}']),"
    f"[data-testid='stColumn']:has(>[data-testid='stVerticalBlock']>[data-testid='stLayoutWrapper']"
    f">[class*='st-key-{CONTROLS}']){{order:1}}"
    f"[class*='st-key-{ROW}'] [data-testid='stColumn']{{flex:0 1 auto;min-width:0;width:auto}}"
    "[data-testid='stMarkdownContainer'] table{display:block;max-width:100%;overflow-x:auto}"
    "[data-testid='stVegaLiteChart']{max-width:100%;overflow-x:auto}"
    ".katex-display{max-width:100%;overflow-x:auto;overflow-y:hidden}"
    "}</style>"
)
