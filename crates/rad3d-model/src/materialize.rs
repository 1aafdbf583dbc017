//! Eager parameter initialisation.
//!
//! Burn creates a module's parameters lazily: the random values are drawn the first time a
//! parameter is read, and a clone of a not-yet-read parameter draws its own values. Two
//! consequences matter for training and for saved models:
//! - a module cloned before its first use (to save it, to keep a copy) diverges from the
//!   original, so a saved file would not hold the weights that produced the results;
//! - values come from whatever state the backend's generator has when they are first
//!   read, so re-seeding between building two modules does not separate their streams.
//!
//! [`materialize`] reads every parameter once, in place, so the values are fixed at the
//! point the caller chooses.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

struct Touch;

impl<B: Backend> ModuleVisitor<B> for Touch {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        // Reading initialises the shared cell of this parameter itself, not a copy.
        let _ = param.val();
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        let _ = param.val();
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        let _ = param.val();
    }
}

/// Draws every lazily initialised parameter of `module` now (see the module docs); a
/// no-op for parameters that are already initialised or were loaded from a file.
pub fn materialize<B: Backend, M: Module<B>>(module: &M) {
    module.visit(&mut Touch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::LinearConfig;

    #[test]
    fn clone_after_materialize_keeps_the_weights() {
        let device = Default::default();
        let lazy = LinearConfig::new(4, 3).init::<Flex>(&device);
        // Without materialising, a clone draws different values.
        let copy = lazy.clone();
        let diverged = (lazy.weight.val() - copy.weight.val())
            .abs()
            .max()
            .into_scalar();
        assert!(diverged > 0.0, "lazy clones should diverge in Burn");

        let eager = LinearConfig::new(4, 3).init::<Flex>(&device);
        materialize(&eager);
        let copy = eager.clone();
        let same = (eager.weight.val() - copy.weight.val())
            .abs()
            .max()
            .into_scalar();
        assert_eq!(same, 0.0);
    }
}
