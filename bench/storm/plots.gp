# The plots of docs/retry-storms.md, from the CSV files storm writes.
# tools/storm runs it once per format:
#   gnuplot -e "data='DIR'; data429='DIR'; img='DIR'; ext='svg'" bench/storm/plots.gp
# (and ext='png'), where data holds a run with --sweep --tune-jitter, short
# a run with --sweep --sweep-range 1,57,4 and data429 a run with
# --overload 429 --retry-after-ms 1000.

set datafile separator comma
set grid back lc rgb "#dddddd"
set border lc rgb "#555555"

# Sets the terminal for a W x H plot in the format `ext`.
term = "if (ext eq 'svg') { set terminal svg size W,H dynamic font 'sans,12' background rgb 'white' } else { set terminal pngcairo size W,H font 'sans,11' background rgb 'white' }"

timeline(dir, scenario, key) = sprintf("%s/timeline-%s-%s.csv", dir, scenario, key)
# A row counts one second from t_s: drawn at the middle of its second.
mid(t) = t + 0.5
label_of(key) = key eq 'none' ? 'no retries' : \
                key eq 'naive' ? 'naive: immediate retries' : \
                key eq 'backoff' ? 'backoff without jitter' : \
                key eq 'full' ? 'full jitter' : \
                key eq 'equal' ? 'equal jitter' : \
                key eq 'decorrelated' ? 'decorrelated jitter' : \
                key eq 'pause' ? 'full jitter + shared pause (no return jitter)' : \
                key eq 'pause-jitter' ? '+ return jitter after the pause' : \
                key eq 'default' ? 'RS\_POLICY\_CONFIG\_DEFAULT (retry budget)' : \
                key eq 'breaker' ? 'default + default breaker (open 0.5-2 s)' : \
                key eq 'breaker-30s' ? 'default + breaker, fixed 30 s open' : \
                key eq 'fleet-budget' ? 'default, one budget for the fleet' : key

# One colour per strategy in every plot, dark enough to read on white.
color_of(key) = key eq 'none' ? '#7f8c8d' : key eq 'naive' ? '#c0392b' : \
                key eq 'full' ? '#e67e22' : key eq 'pause' ? '#6e2c00' : \
                key eq 'default' ? '#2e86c1' : key eq 'breaker' ? '#16a085' : \
                key eq 'breaker-30s' ? '#8e44ad' : key eq 'fleet-budget' ? '#2c3e50' : '#000000'

# ---- 1. load on the server over time ---------------------------------------------
W = 1100; H = 1300; eval term
set output img.'/load.'.ext
set multiplot layout 4,2 title "Load on the server: 1,000 clients, a 67 s outage at t = 20 s, then a cold start" font ',13'
set xrange [0:147]; set yrange [0:3400]; set ytics 1000; set xtics 20
set xlabel 'time (s)' offset 0,0.5; set ylabel 'requests/s' offset 1,0
set object 1 rect from 20,0 to 87,3400 fc rgb '#f6e4e4' fs solid noborder behind
set key top right font ',9' samplen 2 opaque
do for [k in "none naive backoff full default breaker breaker-30s fleet-budget"] {
    set title label_of(k)
    plot timeline(data,'outage',k) using (mid($1)):11 with lines dt 2 lw 1.5 lc rgb '#000000' title 'capacity', \
         '' using (mid($1)):2 with lines lw 1.5 lc rgb '#999999' title 'offered', \
         '' using (mid($1)):3 with lines lw 2 lc rgb '#c0392b' title 'server requests', \
         '' using (mid($1)):5 with lines lw 2 lc rgb '#27ae60' title 'served'
    unset key
}
unset multiplot
unset object 1; unset output
set xrange [*:*]; set yrange [*:*]; set ytics autofreq; set xtics autofreq
unset xlabel; unset ylabel

# ---- 2. amplification and recovery per strategy ---------------------------------------
summary = data.'/summary-outage.csv'
W = 1100; H = 540; eval term
set output img.'/outcomes.'.ext
set multiplot layout 1,2 title "One 67 s outage: what each strategy costs the server, and its users" font ',13'
set style fill solid 0.8 border -1; set boxwidth 0.7
set xtics rotate by -45 left font ',10' nomirror
set bmargin 7
set key top right font ',9'
set title 'load amplification during the outage'
set ylabel 'server requests per logical request'
set yrange [0:3.4]
plot summary using 0:3:xticlabels(1) every ::1 with boxes lc rgb '#2e86c1' notitle, \
     1.1 with lines dt 2 lw 2 lc rgb '#27ae60' title 'target 1.1x', \
     3 with lines dt 2 lw 2 lc rgb '#c0392b' title 'naive 3x'
set title 'recovery delay vs no retries (90% succeed again)'
set ylabel 'seconds'
set yrange [-1:30]
plot summary using 0:6:xticlabels(1) every ::1 with boxes lc rgb '#8e44ad' notitle, \
     2 with lines dt 2 lw 2 lc rgb '#27ae60' title 'target 2 s'
unset multiplot; unset output
set bmargin; set xtics norotate autofreq; unset ylabel; set yrange [*:*]

# ---- 3. the outage-length sweep -------------------------------------------------------
# Short outages (1-57 s, steps of 4) and long ones (60-144 s, steps of 7, which
# do not divide the old 30 s open time), one line per strategy.
sweep(key) = sprintf("%s/sweep-outage-%s.csv", data, key)
sweep_short(key) = sprintf("%s/sweep-outage-%s.csv", short, key)
keys = "naive full default breaker breaker-30s fleet-budget"
W = 1200; H = 620; eval term
set output img.'/sweep.'.ext
set multiplot layout 1,2 title "Every outage length from 1 to 144 s, 1,000 clients" font ',13'
set xlabel 'outage length (s)'; set xrange [0:146]; set xtics 20
set key at graph 0.98, graph 0.47 right top font ',9' samplen 2 opaque
set title 'load amplification during the outage (log scale)'
set ylabel 'server requests per logical request'
set logscale y; set yrange [0.05:4]; set ytics (0.05, 0.1, 0.2, 0.5, 1, 2, 3)
plot for [k in keys] sweep_short(k) using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb color_of(k) title label_of(k), \
     for [k in keys] sweep(k) using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb color_of(k) notitle, \
     1.1 with lines dt 2 lw 1.5 lc rgb '#27ae60' title 'target 1.1x'
unset logscale y; set ytics autofreq
set title 'recovery delay vs no retries'
set key at graph 0.98, graph 0.98 right top
set ylabel 'seconds'; set yrange [-2:30]
plot for [k in keys] sweep_short(k) using 1:6 with linespoints lw 2 pt 7 ps 0.5 lc rgb color_of(k) notitle, \
     for [k in keys] sweep(k) using 1:6 with linespoints lw 2 pt 7 ps 0.5 lc rgb color_of(k) notitle, \
     2 with lines dt 2 lw 1.5 lc rgb '#27ae60' title 'target 2 s'
unset multiplot; unset output
unset xlabel; unset ylabel; set xrange [*:*]; set yrange [*:*]; set xtics autofreq

# ---- 4. the contention race (the AWS blog's shape) ----------------------------------------
race(key) = sprintf("%s/contention-%s.csv", data, key)
race_label(key) = key eq 'immediate' ? 'no backoff' : key eq 'exponential' ? 'exponential, no jitter' : \
                  key eq 'full' ? 'full jitter' : key eq 'equal' ? 'equal jitter' : 'decorrelated jitter'
race_color(key) = key eq 'immediate' ? '#7f8c8d' : key eq 'exponential' ? '#c0392b' : \
                  key eq 'full' ? '#2e86c1' : key eq 'equal' ? '#e67e22' : '#16a085'
W = 1200; H = 560; eval term
set output img.'/contention.'.ext
set multiplot layout 1,2 title "N clients race to update one record (optimistic concurrency); mean of 20 seeds" font ',13'
set xlabel 'contending clients'
set logscale y
set key default; set key top left font ',9' samplen 2
set title 'work: calls made by all clients'; set ylabel 'calls'
plot for [k in "immediate exponential full equal decorrelated"] race(k) using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb race_color(k) title race_label(k)
set title 'time until the last client is done'; set ylabel 'ms'; set format y '%.0f'
plot for [k in "immediate exponential full equal decorrelated"] race(k) using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb race_color(k) notitle
unset multiplot; unset output
unset logscale y; unset xlabel; unset ylabel; set format y

# ---- 5. a short burst -----------------------------------------------------------------
W = 1100; H = 800; eval term
set output img.'/burst.'.ext
set multiplot layout 2,1 title "A 2 s burst of twice the offered load at t = 20 s; no outage" font ',13'
set xrange [15:72]; set xlabel 'time (s)'
set object 2 rect from 20,graph 0 to 22,graph 1 fc rgb '#f6e4e4' fs solid noborder behind
set key default; set key top right font ',9' samplen 2 opaque
set title 'clients whose breaker refuses calls'; set ylabel 'clients'; set yrange [0:1000]
plot for [k in "breaker breaker-30s"] timeline(data,'burst',k) using (mid($1)):10 with lines lw 2 lc rgb color_of(k) title label_of(k)
set title 'share of logical requests that succeed (by the second they were issued)'
set ylabel '%'; set yrange [0:101]
set key bottom right
plot for [k in "none default breaker breaker-30s"] timeline(data,'burst',k) using (mid($1)):($2 > 0 ? 100.0*$7/$2 : 1/0) with lines lw 2 lc rgb color_of(k) title label_of(k)
unset multiplot; unset output
unset object 2; unset xlabel; unset ylabel; set xrange [*:*]; set yrange [*:*]

# ---- 6. the shared pause against 429 + Retry-After: 1 ----------------------------------
ticks(key) = sprintf("%s/ticks-burst-%s.csv", data429, key)
W = 1100; H = 800; eval term
set output img.'/pause-429.'.ext
set multiplot layout 2,1 title "A server answering overload with 429 + Retry-After: 1 (2 s burst at t = 20 s)" font ',13'
set xlabel 'time (s)'
set key default; set key top center horizontal font ',9' samplen 2 opaque
set title 'server requests per 100 ms, t = 40-46 s'; set ylabel 'requests'
set xrange [40:46]; set yrange [0:1300]
plot for [k in "full pause default"] ticks(k) using 1:3 with steps lw 1.5 lc rgb color_of(k) title label_of(k)
set title 'share of logical requests that succeed'; set ylabel '%'
set xrange [15:72]; set yrange [0:101]
plot for [k in "full pause default"] timeline(data429,'burst',k) using (mid($1)):($2 > 0 ? 100.0*$7/$2 : 1/0) with lines lw 2 lc rgb color_of(k) notitle
unset multiplot; unset output

# ---- 7. the return jitter after a server-requested wait ------------------------------------
# A delay of -1 in jitter.csv is a fleet that never recovered: drawn at the top.
never = 19
jit = data.'/jitter.csv'
shown(d) = d < 0 ? never : d
W = 1200; H = 580; eval term
set output img.'/jitter.'.ext
set multiplot layout 1,2 title "The return jitter after a Retry-After (429 + Retry-After: 1 s, 50 ms queue), default policy" font ',13'
set xlabel 'retry\_after\_jitter'; set xrange [-0.05:1.55]; set xtics (0, 0.1, 0.25, 0.5, 0.75, 1, 1.5)
set key default; set key at graph 0.98, graph 0.9 right top font ',9' samplen 2 opaque
set title 'recovery delay vs no retries (dotted line at the top: never)'
set ylabel 'seconds'; set yrange [0:20]
set arrow 1 from graph 0, first never to graph 1, first never nohead dt 3 lc rgb '#999999'
plot jit using 1:(shown($4)) every ::1 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#2e86c1' title 'after a 2 s burst, capacity 1.2x', \
     jit using 1:(shown($9)) every ::1 with linespoints lw 2 pt 5 ps 0.8 lc rgb '#16a085' title 'after a 67 s outage, 1.2x', \
     jit using 1:(shown($12)) every ::1 with linespoints lw 2 dt 2 pt 7 ps 0.8 lc rgb '#2e86c1' title 'after a burst, capacity 1.1x', \
     jit using 1:(shown($13)) every ::1 with linespoints lw 2 dt 2 pt 5 ps 0.8 lc rgb '#16a085' title 'after an outage, 1.1x', \
     2 with lines dt 2 lw 1.5 lc rgb '#27ae60' title 'target 2 s'
unset arrow 1
set title 'requests answered 429, and what a lone client waits'
set ylabel 'requests answered 429 (log scale)'; set logscale y; set yrange [1000:300000]
set y2label 'lone client: mean extra wait after Retry-After: 1 s (s)'; set y2range [0:1]; set y2tics 0.25
set ytics nomirror
set key default; set key top right font ',9' samplen 2 opaque
plot jit using 1:6 every ::1 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#2e86c1' title '429s, 2 s burst', \
     jit using 1:11 every ::1 with linespoints lw 2 pt 5 ps 0.8 lc rgb '#16a085' title '429s, 67 s outage', \
     jit using 1:2 every ::1 axes x1y2 with linespoints lw 2 dt 3 pt 6 ps 0.8 lc rgb '#c0392b' title 'lone client, extra wait (right)'
unset multiplot; unset output
