// Draws one lane per level (coarsest on top) from the page's JSON; a click seeks the video to the
// event's start; while the video plays, the event under the playhead of every lane is highlighted.
// A feature stream's page may have no video: a click then moves the playhead itself.
const data = JSON.parse(document.getElementById("data").textContent);
const video = document.getElementById("video");
let cursor = 0;  // the playhead's time where there is no video
const now = () => (video ? video.currentTime : cursor);
const lanes = [];
const pct = (t) => `${(100 * t / data.duration).toFixed(4)}%`;
data.levels.map((events, level) => ({events, level})).reverse().forEach(({events, level}) => {
  const lane = document.createElement("div");
  lane.className = "lane";
  lane.innerHTML = `<div class="lane-name">L${level}</div><div class="track"><div class="playhead"></div></div>`;
  const track = lane.querySelector(".track");
  const buttons = events.map((e, k) => {
    const b = document.createElement("button");
    b.className = "event";
    b.id = `L${level}-${k}`;
    b.title = `${e.title}: ${e.start.toFixed(3)} - ${e.end.toFixed(3)} s`;
    b.dataset.start = e.start;
    b.style.left = pct(e.start);
    b.style.width = pct(e.end - e.start);
    b.innerHTML = `<img alt="" src="${e.thumb}">`;
    b.addEventListener("click", () => {
      if (video) video.currentTime = e.start;
      else { cursor = e.start; highlight(); }
    });
    track.appendChild(b);
    return b;
  });
  lanes.push({events, buttons, playhead: track.querySelector(".playhead")});
  document.getElementById("lanes").appendChild(lane);
});
function highlight() {
  const t = now();
  for (const {events, buttons, playhead} of lanes) {
    playhead.style.left = pct(Math.min(t, data.duration));
    events.forEach((e, k) => buttons[k].classList.toggle("current", e.start <= t && (t < e.end || k === events.length - 1)));
  }
}
if (video) for (const name of ["timeupdate", "seeked", "loadedmetadata"]) video.addEventListener(name, highlight);
highlight();
