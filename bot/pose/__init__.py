"""Pose measurements from 2-D body keypoints (COCO-17): joint angles, reps, ranges; see bot.pose.measure."""
