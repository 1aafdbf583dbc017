//! Learning-rate schedule: constant (the paper), or linear warmup then linear decay.

use serde::{Deserialize, Serialize};

/// Learning rate as a function of the optimizer step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    /// Peak learning rate (paper: 2e-5).
    pub base: f64,
    /// Steps of linear warmup from `base / warmup` to `base` (0: none).
    pub warmup_steps: usize,
    /// Decay linearly to 0 at `total_steps` after warmup.
    pub linear_decay: bool,
    /// Total optimizer steps of the run (for the decay).
    pub total_steps: usize,
}

impl LrSchedule {
    /// A constant rate.
    pub fn constant(base: f64) -> Self {
        Self {
            base,
            warmup_steps: 0,
            linear_decay: false,
            total_steps: 0,
        }
    }

    /// Rate for optimizer step `step` (0-based).
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.base * (step + 1) as f64 / self.warmup_steps as f64;
        }
        if self.linear_decay && self.total_steps > self.warmup_steps {
            let left = self.total_steps.saturating_sub(step) as f64;
            let span = (self.total_steps - self.warmup_steps) as f64;
            return self.base * (left / span).clamp(0.0, 1.0);
        }
        self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_decay() {
        let s = LrSchedule {
            base: 1.0,
            warmup_steps: 4,
            linear_decay: true,
            total_steps: 14,
        };
        assert_eq!(s.at(0), 0.25);
        assert_eq!(s.at(3), 1.0);
        assert_eq!(s.at(4), 1.0);
        assert_eq!(s.at(9), 0.5);
        assert_eq!(s.at(14), 0.0);
        assert_eq!(LrSchedule::constant(2e-5).at(1000), 2e-5);
    }
}
