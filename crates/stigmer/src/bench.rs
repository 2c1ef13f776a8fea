//! `stigmer bench protocol`.

#[derive(clap::Args)]
pub struct ProtocolArgs {}

pub fn protocol(_: &ProtocolArgs) -> anyhow::Result<()> {
    Ok(())
}
