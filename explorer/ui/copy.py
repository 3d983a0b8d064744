"""The page's words: formulas, captions, the about text (and one constant style sheet)."""

ADAM_STEP = r"\eta_t\,\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}"


FORMULAS = {
    "adam-l2": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})+\textcolor{#d95f02}{\lambda\theta_{t-1}}\\"
    r"\theta_t&=\theta_{t-1}-" + ADAM_STEP + r"\end{aligned}",
    "adamw": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\"
    r"\theta_t&=\theta_{t-1}-"
    + ADAM_STEP
    + r"-\textcolor{#1f78b4}{\eta_t\lambda\,\theta_{t-1}}\end{aligned}",
    "adamw-torch": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\"
    r"\theta_t&=\theta_{t-1}\big(1-\textcolor{#1f78b4}{\eta_t\alpha\lambda}\big)-"
    + ADAM_STEP
    + r"\end{aligned}",
    "adamw-corrected": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\"
    r"\theta_t&=\theta_{t-1}\big(1-\textcolor{#1f78b4}{\eta_t^2\alpha\lambda}\big)-"
    + ADAM_STEP
    + r"\end{aligned}",
    "sgd-l2": r"\begin{aligned}b_t&=\mu b_{t-1}+\nabla f(\theta_{t-1})+\textcolor{#d95f02}{\lambda\theta_{t-1}}\\"
    r"\theta_t&=\theta_{t-1}-\eta_t\,\alpha\,b_t\end{aligned}",
    "sgdw": r"\begin{aligned}b_t&=\mu b_{t-1}+\nabla f(\theta_{t-1})\\"
    r"\theta_t&=\theta_{t-1}-\eta_t\,\alpha\,b_t-\textcolor{#1f78b4}{\eta_t\lambda\,\theta_{t-1}}\end{aligned}",
}


CAPTIONS = {
    "adam-l2": "The L2 pull λθ enters the gradient, so Adam divides it by √v̂+ε like everything else: "
    "coordinates with large gradients are barely regularized, flat ones a lot. It stops at ◆, "
    "the minimum of f + λ/2‖θ‖².",
    "adamw": "The decay bypasses Adam's scaling and shrinks every coordinate at the same rate η_t·λ "
    "(not multiplied by α). With exact gradients Adam's step ≈ sign(∇f), so it stops at ◆: the "
    "minimum of f inside the dashed box ‖θ‖∞ ≤ α/λ.",
    "adamw-torch": "The decay bypasses Adam's scaling and shrinks every coordinate at the same rate "
    "η_t·α·λ. With exact gradients Adam's step ≈ sign(∇f), so it stops at ◆: the minimum "
    "of f inside the dashed box ‖θ‖∞ ≤ 1/λ.",
    "adamw-corrected": "The decay bypasses Adam's scaling and shrinks every coordinate by η_t²·α·λ = "
    "lr_t²/lr_max·λ (AdamC; timm's corrected weight decay): a normalized layer's equilibrium norm "
    "∝ √(lr_t/λ_t) stays put as the schedule decays. With a constant schedule it is the PyTorch form. "
    "◆ is the last step's fixed point, the minimum of f inside ‖θ‖∞ ≤ 1/(λ·η_T): as η_t falls the box grows, "
    "so the run chases a moving target.",
    "sgd-l2": "SGD scales every coordinate alike, so L2 here is plain weight decay with rate α·λ; it stops "
    "at ◆, the minimum of f + λ/2‖θ‖².",
    "sgdw": "Decoupled: θ shrinks by η_t·λ per step. Without momentum this is SGD+L2 with λ' = λ/α "
    "(Proposition 1); it stops at ◆, the L2 optimum for λ(1−μ)/α.",
}


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


# Less empty space above the title, so the first chart is on screen at 1366×768 (a constant style sheet)
COMPACT_PAGE = "<style>[data-testid='stMainBlockContainer']{padding-top:3.2rem}</style>"
