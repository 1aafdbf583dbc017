//! `--device cpu|cuda[:N]`: the backend is chosen when the command runs, not when it is
//! built. A build without the `cuda` feature refuses a CUDA request with the command that
//! builds one.

use std::fmt;
use std::str::FromStr;

use burn::tensor::backend::Backend;

/// Where the models run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DeviceChoice {
    /// The CPU (Burn's Flex backend).
    #[default]
    Cpu,
    /// NVIDIA GPU number N.
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| format!("expected cpu, cuda or cuda:N, got {s:?}")),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Work that runs on any backend: the subcommand's body, generic over `B`.
pub(crate) trait OnBackend {
    /// What the work returns.
    type Output;

    /// Runs the work on backend `B` and its device.
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<Self::Output>;
}

/// Runs `task` on the backend `choice` names.
pub(crate) fn run_on<T: OnBackend>(choice: DeviceChoice, task: T) -> anyhow::Result<T::Output> {
    tracing::debug!("running on {choice}");
    match choice {
        DeviceChoice::Cpu => task.run::<burn::backend::Flex>(Default::default()),
        DeviceChoice::Cuda(index) => cuda(index, task),
    }
}

#[cfg(feature = "cuda")]
fn cuda<T: OnBackend>(index: usize, task: T) -> anyhow::Result<T::Output> {
    task.run::<burn::backend::Cuda>(burn::backend::cuda::CudaDevice { index })
}

#[cfg(not(feature = "cuda"))]
fn cuda<T: OnBackend>(index: usize, _task: T) -> anyhow::Result<T::Output> {
    crate::outcome::usage(format!(
        "--device cuda:{index}: this rad3d was built without CUDA support; build it with \
         `cargo install --path crates/rad3d-cli --features cuda` (needs the CUDA toolkit)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        assert_eq!("cpu".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("CUDA".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:3".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(3)));
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert_eq!(DeviceChoice::Cuda(2).to_string(), "cuda:2");
    }
}
