//! NIfTI CT input, Hounsfield units, orientation, resampling and CT-CLIP preprocessing.
//!
//! Read a CT ([`read_nifti`] / [`ReadOptions`]) into a [`Volume`] of f32 Hounsfield
//! units with its voxel→world affine, then turn it into the encoder's input with a
//! [`Preprocess`] recipe: [`Preprocess::ct_clip()`] reproduces what CT-CLIP was
//! trained on (nibabel `LPS` orientation transposed to `(S, L, P)`, PyTorch trilinear
//! resampling to 1.5 × 0.75 × 0.75 mm, HU clipped to [−1000, 1000] / 1000, centre
//! crop / pad to 240 × 480 × 480 with −1). [`phantom`] makes synthetic chest CTs with
//! labelled findings for tests, benches and demos.
//!
//! ```no_run
//! use burn::backend::Flex;
//! use rad3d_volume::{Preprocess, ReadOptions, read_nifti};
//!
//! # fn main() -> rad3d_volume::Result<()> {
//! let device = Default::default();
//! let volume = read_nifti("chest.nii.gz")?;
//! println!("{:?} voxels of {:?} mm, stored {}", volume.shape(), volume.spacing(), volume.orientation());
//! let input = Preprocess::ct_clip().apply(&volume)?;
//! input.save_safetensors("chest.safetensors")?;
//! let tensor = input.into_tensor::<Flex>(&device); // [1, 1, 240, 480, 480]
//!
//! // CT-RATE ships scaling in its metadata CSV; 4D files need a volume index.
//! let volume = ReadOptions::new().rescale(1.0, -1024.0).volume(0).read("scan.nii")?;
//! # let _ = (tensor, volume);
//! # Ok(())
//! # }
//! ```

mod error;
mod orientation;
mod output;
pub mod phantom;
mod preprocess;
mod read;
mod resample;
mod volume;
mod write;

pub use error::{Result, VolumeError};
pub use orientation::{Affine, Axcodes, AxisDirection, IDENTITY, io_orientation, voxel_sizes};
pub use output::{Preprocessed, Stats, TENSOR_NAME};
pub use phantom::{Finding, Phantom, PhantomConfig, Side};
pub use preprocess::{Order, Preprocess};
pub use read::{ReadOptions, read_nifti};
pub use resample::resampled_size;
pub use volume::Volume;
pub use write::{WriteDtype, write_nifti, write_to};
