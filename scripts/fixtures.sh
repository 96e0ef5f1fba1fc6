#!/usr/bin/env bash
# Test fixtures from real footage: Debian's opencv-doc package (pedestrian clip vtest.avi and photos),
# converted with ffmpeg. Nothing here is committed; everything lands in fixtures/ (git-ignored).
# Idempotent: files already made are kept. Needs apt-get (for the download) and ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures
mkdir -p "$out"
data="$out/opencv-doc/usr/share/doc/opencv-doc/examples/data"

if [ ! -f "$data/vtest.avi" ]; then
  command -v ffmpeg >/dev/null || { echo "fixtures: ffmpeg is missing (apt-get install -y ffmpeg)" >&2; exit 1; }
  tmp=$(mktemp -d)
  echo "fixtures: downloading Debian's opencv-doc package (~96 MB) ..."
  (cd "$tmp" && chmod 755 . && apt-get download opencv-doc >/dev/null 2>&1) || {
    echo "fixtures: 'apt-get download opencv-doc' failed (run 'apt-get update' first?)" >&2; exit 1; }
  dpkg -x "$tmp"/opencv-doc_*.deb "$out/opencv-doc.partial"
  rm -rf "$out/opencv-doc" && mv "$out/opencv-doc.partial" "$out/opencv-doc"
  rm -rf "$tmp"
  # keep only what the tests use
  find "$out/opencv-doc" -type f ! -name vtest.avi ! -name messi5.jpg ! -name basketball1.png -delete
fi

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
make() { # make TARGET ffmpeg-args...: write atomically
  local target=$1; shift
  [ -s "$out/$target" ] && return 0
  local fmt
  case ${target##*.} in rgb) fmt=rawvideo ;; png) fmt=image2 ;; y4m) fmt=yuv4mpegpipe ;; *) fmt=${target##*.} ;; esac
  ff "$@" -f "$fmt" "$out/.$target.tmp"
  mv "$out/.$target.tmp" "$out/$target"
  echo "fixtures: made $out/$target"
}

# 512x512 RGB frames (the default model's input size) for parity tests, plus source-size copies.
make messi5-512.rgb -i "$data/messi5.jpg" -vf scale=512:512 -pix_fmt rgb24
make vtest-f100-512.rgb -i "$data/vtest.avi" -vf "select=eq(n\,100),scale=512:512" -frames:v 1 -pix_fmt rgb24
make vtest-f100.png -i "$data/vtest.avi" -vf "select=eq(n\,100)" -frames:v 1
# 30 consecutive vtest frames at 512×512 RGB, for the benchmark's bare onnxruntime loop.
make vtest-30x512.rgb -i "$data/vtest.avi" -vf "select=between(n\,100\,129),scale=512:512" -frames:v 30 -pix_fmt rgb24
# The same 30 frames at 416×416, the default model's input.
make vtest-30x416.rgb -i "$data/vtest.avi" -vf "select=between(n\,100\,129),scale=416:416" -frames:v 30 -pix_fmt rgb24
# Agreement of the default (416×416) model with the original (512×512): every 20th vtest frame over the whole
# clip (40 frames) and the two photos, at both sizes.
for s in 512 416; do
  make vtest-every20-$s.rgb -i "$data/vtest.avi" -vf "select=eq(mod(n\,20)\,10),scale=$s:$s" -vsync vfr -frames:v 40 -pix_fmt rgb24
  make basketball1-$s.rgb -i "$data/basketball1.png" -vf scale=$s:$s -pix_fmt rgb24
done
make messi5-416.rgb -i "$data/messi5.jpg" -vf scale=416:416 -pix_fmt rgb24
# Fake-camera clip: 40 s of vtest at 640x480, 10 fps (y4m keeps its rate and loops).
make vtest.y4m -i "$data/vtest.avi" -t 40 -vf scale=640:480 -pix_fmt yuv420p
# Lighting change: 50 s of vtest whose second half (from 25 s) is darkened (brightness −0.45), for the
# health e2e test (an alert must fire within 30 s of the change).
make vtest-dark.y4m -i "$data/vtest.avi" -t 50 -vf "scale=640:480,eq=brightness=-0.45:enable='gte(t,25)'" -pix_fmt yuv420p
# A still scene for near-duplicate suppression: messi5.jpg held for 20 s at 10 fps with a little sensor
# noise (every frame differs slightly, as a real camera's would).
make still.y4m -loop 1 -framerate 10 -i "$data/messi5.jpg" -t 20 -vf "scale=640:480,noise=alls=2:allf=t" -pix_fmt yuv420p
# Frozen feed at night (#29): 40 s of vtest as a camera's night mode shows it (grey IR, darker, flatter, sensor
# noise on luma: bench/footage.ts NIGHT_IR; the kiosk starts and learns the night as its first condition), then
# its last frame repeated for 22 s — noise and all: byte-identical frames, as a hung encoder or a paused stream
# sends —, for the frozen-feed e2e test (the alert fires 12.5–18 s after the freeze in frame time, and must
# resolve once the loop moves again). The sensor's noise changes every live frame, so only a frozen feed repeats one.
make vtest-night-frozen.y4m -t 40 -i "$data/vtest.avi" -vf "scale=640:480,hue=s=0,eq=brightness=-0.06:contrast=0.85,noise=c0s=8:c0f=t,tpad=stop_mode=clone:stop_duration=22" -pix_fmt yuv420p
# A compressed day (#29): vtest's first 10 s looped at 5 fps — 40 s in colour (the kiosk loads and learns its day in
# them), 40 s as a camera's night mode shows it (grey IR, darker, flatter, sensor noise on luma: the same filter as
# bench/footage.ts NIGHT_IR; the e2e accepts it from the panel early in its learning, and its baseline is completed
# by the rest of it), 20 s of day, then a dusk: 3 minutes of the light and the colour fading, frame by frame, to
# the night's brightness, contrast and (no) colour, then the IR mode again for 20 s, then 30 s of night out of
# focus (gaussian blur σ 3 before the night filter, as bench/health.ts defocuses it: the optics blur, the sensor
# adds its noise) — 330 s, looped by the fake camera. The dusk fades the light with hue's brightness (one luma level
# at a time) and the contrast with eq's (1/4096 steps): eq's brightness moves in steps of 0.01 (2.5 levels),
# truncated toward zero, so a dusk made with it darkens by a whole step on its first frame — a 3 % step of the
# light, which the lighting rules are right to catch. The same 10 s throughout, so that a baseline of a few seconds
# sees all of what comes after, by day and by night. The first night is learnt, the later switches and the dusk
# raise nothing; the defocus in the night condition fires the sharpness rules with the cause camera.
make vtest-compressed-day.y4m -i "$data/vtest.avi" -filter_complex "[0:v]trim=end=10,setpts=PTS-STARTPTS,scale=640:480,fps=5,loop=loop=32:size=50:start=0,setpts=N/5/TB,gblur=sigma=3:enable='gte(t,300)',hue=s='1-(t-100)/180':b='-0.68*(t-100)/180':enable='between(t,100,280)',eq=contrast='1-0.15*(t-100)/180':eval=frame:enable='between(t,100,280)',hue=s=0:enable='between(t,40,80)+gte(t,280)',eq=brightness=-0.06:contrast=0.85:enable='between(t,40,80)+gte(t,280)',noise=c0s=8:c0f=t:enable='between(t,40,80)+gte(t,280)'[out]" -map "[out]" -r 5 -pix_fmt yuv420p
# The camera's faults at night (#29): the same 10 s looped at 5 fps — 40 s of night as the camera's IR mode shows it
# (the kiosk loads and learns it: its first condition), 60 s of day (a new condition: the e2e marks it a fault from
# the panel while it is learnt, and the day is judged against the night for the rest of it), then the night again
# for the rest: 20 s of it, 25 s through a covered lens (bench/footage.ts COVERED after the night filter: the IR
# picture through a hand), 25 s of night, 25 s of the camera bumped (the view moved 64×48 px, as bench/footage.ts
# BUMP, before the night filter), 25 s of night — 220 s, looped by the fake camera (a restarted clip starts at night
# too: the blind deployment switched to after the bump runs at night).
make vtest-night-faults-long-day.y4m -i "$data/vtest.avi" -filter_complex "[0:v]trim=end=10,setpts=PTS-STARTPTS,scale=640:480,fps=5,loop=loop=21:size=50:start=0,setpts=N/5/TB,split[a][b];[b]crop=576:432:64:48,scale=640:480[moved];[a][moved]overlay=enable='between(t,170,195)',hue=s=0:enable='lt(t,40)+gte(t,100)',eq=brightness=-0.06:contrast=0.85:enable='lt(t,40)+gte(t,100)',noise=c0s=8:c0f=t:enable='lt(t,40)+gte(t,100)',gblur=sigma=60:enable='between(t,120,145)',eq=brightness=-0.75:contrast=0.3:enable='between(t,120,145)',noise=alls=3:allf=t:enable='between(t,120,145)'[out]" -map "[out]" -r 5 -pix_fmt yuv420p
# Stretches of one scene, then another scene (#24): vtest's first 75 s (the kiosk learns its baseline in
# them, however long its model takes to load), its quietest 20 s (30–50 s) twice, its busiest 20 s (9–29 s) twice
# (bench/health.ts finds both), then 40 s of the hall mirrored — another scene with the same image
# statistics — at 5 fps (the kiosk infers slower than that; half the size). The rate rules must not fire on
# the stretches; the scene rules must fire on the swap, with the cause scene.
make vtest-stretches.y4m -i "$data/vtest.avi" -filter_complex "[0:v]scale=640:480,fps=5,split=4[a][q][b][m];[a]trim=end=75,setpts=PTS-STARTPTS[a2];[q]trim=start=30:end=50,setpts=PTS-STARTPTS,loop=loop=1:size=100:start=0[q2];[b]trim=start=9:end=29,setpts=PTS-STARTPTS,loop=loop=1:size=100:start=0[b2];[m]trim=end=40,setpts=PTS-STARTPTS,hflip[m2];[a2][q2][b2][m2]concat=n=4:v=1,setpts=N/5/TB[out]" -map "[out]" -r 5 -pix_fmt yuv420p
