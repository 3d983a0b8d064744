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


# Less empty space above the title, so the first chart is on screen at 1366×768; and no header Stop: it ends
# the page's script run, not the work (which runs in worker processes and has its own Cancel)
COMPACT_PAGE = ("<style>[data-testid='stMainBlockContainer']{padding-top:3.2rem}"
                "[data-testid='stStatusWidget'] button{display:none}</style>")
