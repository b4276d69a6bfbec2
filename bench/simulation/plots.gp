# The plots of docs/adaptive.md, from the CSV files bench/simulation writes.
# tools/simulation runs it once per format:
#   gnuplot -e "data='DIR'; img='DIR'; ext='svg'" bench/simulation/plots.gp
# (and ext='png').

set datafile separator comma
set grid back lc rgb "#dddddd"
set border lc rgb "#555555"
set key top right box opaque

term = "if (ext eq 'svg') { set terminal svg size W,H dynamic font 'sans,12' background rgb 'white' } else { set terminal pngcairo size W,H font 'sans,11' background rgb 'white' }"
csv(name) = sprintf("%s/%s.csv", data, name)

# ---- 1. the concurrency limit against a capacity that drops and comes back ----
W = 1000; H = 1200; eval term
set output img.'/limit.'.ext
set multiplot layout 3,1 title "300 clients, a server of 100 workers (20 from 20 s to 40 s), a queue of 50, 50 ms of work" font ',13'
set xrange [0:60]
set xlabel "time (s)"
set ylabel "calls in flight"
set yrange [0:140]
plot csv('concurrency-adaptive') using 1:3 with steps lw 2 dt 2 lc rgb '#555555' title 'true capacity (workers)', \
     '' using 1:2 with lines lw 2 lc rgb '#2e86c1' title 'adaptive limit (gradient)', \
     csv('concurrency-fixed') using 1:2 with lines lw 2 lc rgb '#c0392b' title 'fixed limit of 100'
set ylabel "served per second"
set yrange [0:2600]
plot csv('concurrency-adaptive') using 1:($3*20) with steps lw 2 dt 2 lc rgb '#555555' title 'capacity (workers / 50 ms)', \
     '' using 1:7 with lines lw 1.5 lc rgb '#2e86c1' title 'adaptive limit', \
     csv('concurrency-fixed') using 1:7 with lines lw 1.5 lc rgb '#c0392b' title 'fixed limit of 100'
set ylabel "answered 429 per second"
set logscale y
set yrange [1:20000]
plot csv('concurrency-fixed') using 1:($8 > 0 ? $8 : 1/0) with impulses lw 1.5 lc rgb '#c0392b' title 'fixed limit of 100', \
     csv('concurrency-adaptive') using 1:($8 > 0 ? $8 : 1/0) with impulses lw 2 lc rgb '#2e86c1' title 'adaptive limit'
unset logscale y
unset multiplot

# ---- 2. the adaptive rate against a rate limit lowered mid-run ------------------
W = 1000; H = 900; eval term
set output img.'/rate.'.ext
set multiplot layout 2,1 title "300 clients, a limit of 400 requests/s (100 from 20 s to 40 s), 429 + Retry-After: 1 past it" font ',13'
set xrange [0:90]
set xlabel "time (s)"
set ylabel "requests per second"
set yrange [0:600]
plot csv('rate-adaptive') using 1:5 with steps lw 2 dt 2 lc rgb '#555555' title "server's limit", \
     '' using 1:4 with lines lw 2 lc rgb '#2e86c1' title 'adaptive rate (none before the first 429)'
set ylabel "served per second"
plot csv('rate-adaptive') using 1:5 with steps lw 2 dt 2 lc rgb '#555555' title "server's limit", \
     csv('rate-adaptive') using 1:7 with lines lw 1.5 lc rgb '#2e86c1' title 'adaptive rate', \
     csv('rate-fixed') using 1:7 with lines lw 1.5 lc rgb '#c0392b' title 'fixed rate of 400/s'
unset multiplot
