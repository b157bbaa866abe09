/// What a binary heap orders: the element that `comesBefore` every other is on top.
protocol HeapOrdered {
    static func comesBefore(_ a: Self, _ b: Self) -> Bool
}

/// A binary heap (an array kept so that each parent comes before its children): push and pop in O(log n). The
/// byte-pair encoders take their next merge from one.
struct BinaryHeap<Element: HeapOrdered> {
    private var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ element: Element) {
        items.append(element)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Element.comesBefore(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var first = i
                if l < items.count && Element.comesBefore(items[l], items[first]) { first = l }
                if r < items.count && Element.comesBefore(items[r], items[first]) { first = r }
                if first == i { break }
                items.swapAt(i, first)
                i = first
            }
        }
        return top
    }
}
