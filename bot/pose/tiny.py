"""A tiny random-weight VitPose built locally (no download) for tests: the real architecture and processor.

Its keypoints are noise; tests through it assert structure (shapes, the flow, pictures), never accuracy.
The heatmap head's bias is raised so keypoint scores pass the visibility threshold and angles exist.
"""

from __future__ import annotations

from pathlib import Path

_IMAGE_SIZE = (64, 48)


def make_tiny_pose_model(directory: Path, *, seed: int = 0) -> Path:
    """Write a tiny VitPose (model and image processor) to `directory` and return it."""
    import torch
    from transformers import VitPoseBackboneConfig, VitPoseConfig, VitPoseForPoseEstimation, VitPoseImageProcessor

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    backbone = VitPoseBackboneConfig(
        image_size=list(_IMAGE_SIZE),
        patch_size=[16, 16],
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        mlp_ratio=2,
        out_indices=[2],
        out_features=["stage2"],
    )
    config = VitPoseConfig(backbone_config=backbone, use_simple_decoder=True, scale_factor=4, num_labels=17)
    torch.manual_seed(seed)
    model = VitPoseForPoseEstimation(config).eval()
    with torch.no_grad():
        model.head.conv.bias.add_(1.0)
    model.save_pretrained(directory)
    VitPoseImageProcessor(size={"height": _IMAGE_SIZE[0], "width": _IMAGE_SIZE[1]}).save_pretrained(directory)
    return directory
